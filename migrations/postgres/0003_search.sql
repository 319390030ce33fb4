-- Message search (PROTOCOL.md §13): a full-text index over the messages' text.
--
-- The 'simple' configuration: no stemming and no stop words, because the marketplace's users
-- write English, Pidgin, Yoruba and more, and English stemming would mangle the others. Accents
-- are removed with unaccent (a trusted extension: the database owner may create it); unaccent()
-- itself is only STABLE, so an IMMUTABLE wrapper names its dictionary explicitly, which is what
-- lets a generated column use it. Word prefixes are matched with `:*` in the query.
CREATE EXTENSION IF NOT EXISTS unaccent;

CREATE FUNCTION chat_search_text(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$ SELECT lower(public.unaccent('public.unaccent'::regdictionary, $1)) $$;

-- Computed in the transaction of every insert and edit; a tombstone's text is '' (no lexemes).
-- Adding the column fills it for the messages already stored.
ALTER TABLE messages ADD COLUMN search tsvector
    GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, chat_search_text(body))) STORED;

CREATE INDEX messages_search ON messages USING GIN (search);

-- Newest first within a user's orders.
CREATE INDEX messages_by_time ON messages(order_id, created_at);
