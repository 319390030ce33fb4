//! Shared test helpers: fresh databases (SQLite in a temp dir, PostgreSQL as a new database on
//! the throwaway server the test command starts), the app, tokens, a socket stand-in.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use http_body_util::BodyExt;
use order_chat::app::{self, Built, Settings};
use order_chat::domain::{OrderId, UserId};
use order_chat::realtime::Membership;
use order_chat::service::OrderUpsert;
use order_chat::store::{self, Store};
use serde_json::{Value, json};
use sqlx::Connection;
use tower::ServiceExt;

pub mod media_files;
mod test_app;
#[allow(unused_imports)] // each test binary uses a different part
pub use test_app::{TestApp, TestService};

pub const SECRET: &str = "test-access-secret-0123456789abcdef";
pub const ADMIN_SECRET: &str = "test-admin-secret-0123456789abcdef";
pub const INTERNAL_KEY: &str = "test-internal-key";

/// A database URL for one test, and what keeps it alive.
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

pub fn sqlite_db() -> TestDb {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/chat.db", dir.path().display());
    TestDb {
        url,
        _dir: Some(dir),
    }
}

/// The PostgreSQL server of the test command (`ORDER_CHAT_TEST_POSTGRES_URL`). Without it the
/// PostgreSQL tests fail, unless `ORDER_CHAT_SKIP_POSTGRES=1` says to run SQLite only.
pub fn postgres_admin_url() -> Option<String> {
    match std::env::var("ORDER_CHAT_TEST_POSTGRES_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ if std::env::var("ORDER_CHAT_SKIP_POSTGRES").as_deref() == Ok("1") => None,
        _ => panic!(
            "ORDER_CHAT_TEST_POSTGRES_URL is not set: run the README test command \
             (scripts/test.sh), or set ORDER_CHAT_SKIP_POSTGRES=1 to run SQLite only"
        ),
    }
}

/// A new, empty PostgreSQL database for one test.
pub async fn postgres_db() -> Option<TestDb> {
    let admin = postgres_admin_url()?;
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .expect("connect to test PostgreSQL");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
    Some(TestDb {
        url: format!("{base}/{name}"),
        _dir: None,
    })
}

pub async fn open_store(db: &TestDb) -> Arc<dyn Store> {
    store::connect(&db.url).await.expect("open store")
}

pub fn settings(db: &TestDb) -> Settings {
    Settings {
        database_url: db.url.clone(),
        redis_url: None,
        jwt_access_secret: Some(SECRET.into()),
        jwt_admin_access_secret: Some(ADMIN_SECRET.into()),
        jwt_public_key_file: None,
        internal_api_key: INTERNAL_KEY.into(),
        cors_origins: vec![],
        limits: Default::default(),
        media: Default::default(),
        notify: Default::default(),
    }
}

pub async fn app(db: &TestDb) -> Built {
    app::build(&settings(db)).await.expect("build app")
}

pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// An HS256 token with these claims (an `exp` one hour ahead unless given).
pub fn sign(claims: Value, secret: &str) -> String {
    let mut claims = claims;
    if claims.get("exp").is_none() {
        claims["exp"] = json!(now_secs() + 3600);
    }
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("sign")
}

pub fn token(user: &str) -> String {
    sign(json!({"user": {"id": user}, "tokenType": "access"}), SECRET)
}

pub fn admin_token(email: &str) -> String {
    sign(
        json!({"authKey": email, "tokenType": "admin"}),
        ADMIN_SECRET,
    )
}

/// The usual cast: one order with customer `cust`, agent `agent`; a second order with other people.
pub async fn seed(b: &Built) {
    put_order(b, "o1", "B2S-AAAA1", "shopping", "cust", &["agent"]).await;
    put_order(b, "o2", "B2S-BBBB2", "shopping", "cust2", &["agent2"]).await;
}

pub async fn put_order(
    b: &Built,
    id: &str,
    number: &str,
    status: &str,
    customer: &str,
    agents: &[&str],
) {
    let agents: Vec<Value> = agents
        .iter()
        .map(|a| json!({"id": a, "name": format!("Agent {a}")}))
        .collect();
    let up = OrderUpsert::parse(
        id,
        &json!({"orderNumber": number, "status": status,
                "customer": {"id": customer, "name": format!("Customer {customer}")}, "agents": agents}),
    )
    .expect("valid order");
    b.service.put_order(up).await.expect("put order");
}

/// A REST call through the real router (no network): (status, JSON body).
pub async fn call(
    b: &Built,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = axum::http::Request::builder().method(method).uri(path);
    if let Some(t) = bearer {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let body = match body {
        Some(v) => {
            req = req.header("content-type", "application/json");
            axum::body::Body::from(v.to_string())
        }
        None => axum::body::Body::empty(),
    };
    raw(b, req.body(body).unwrap()).await
}

pub async fn raw(b: &Built, req: axum::http::Request<axum::body::Body>) -> (u16, Value) {
    let res = b.router.clone().oneshot(req).await.expect("router answers");
    let status = res.status().as_u16();
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    let json = serde_json::from_slice(&bytes)
        .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, json)
}

/// A stand-in for one socket's room membership (the Socket.IO side is covered by the
/// end-to-end suite with the real client).
#[derive(Default)]
pub struct FakeSocket {
    rooms: Mutex<BTreeSet<String>>,
}

#[async_trait]
impl Membership for FakeSocket {
    async fn enter(&self, order: &OrderId, _: &UserId) {
        self.rooms.lock().unwrap().insert(order.to_string());
    }
    async fn exit(&self, order: &OrderId, _: &UserId) {
        self.rooms.lock().unwrap().remove(order.as_str());
    }
    fn is_in(&self, order: &OrderId) -> bool {
        self.rooms.lock().unwrap().contains(order.as_str())
    }
    fn joined_orders(&self) -> Vec<OrderId> {
        self.rooms
            .lock()
            .unwrap()
            .iter()
            .filter_map(|o| OrderId::parse(o).ok())
            .collect()
    }
}

/// Run each named `async fn(Arc<dyn Store>)` of the calling test file against every backend:
/// a module `sqlite` and a module `postgres` with one test per name.
#[macro_export]
macro_rules! store_suite {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = super::common::sqlite_db();
                    super::$name(super::common::open_store(&db).await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = super::common::postgres_db().await else { return };
                    super::$name(super::common::open_store(&db).await).await;
                }
            )*
        }
    };
}

/// The S3-compatible server of the test command (`ORDER_CHAT_TEST_S3_URL`, moto on loopback).
/// Without it the S3 tests fail, unless `ORDER_CHAT_SKIP_S3=1` says to run the local folder
/// only.
pub fn s3_endpoint() -> Option<String> {
    match std::env::var("ORDER_CHAT_TEST_S3_URL") {
        Ok(u) if !u.is_empty() => Some(u.trim_end_matches('/').to_owned()),
        _ if std::env::var("ORDER_CHAT_SKIP_S3").as_deref() == Ok("1") => None,
        _ => panic!(
            "ORDER_CHAT_TEST_S3_URL is not set: run the README test command (scripts/test.sh), \
             which starts moto on loopback, or set ORDER_CHAT_SKIP_S3=1 to skip S3"
        ),
    }
}

/// A `STORAGE_URL` on a new, empty bucket of the test S3 server.
pub async fn s3_storage_url() -> Option<String> {
    let endpoint = s3_endpoint()?;
    let bucket = format!("t-{}", uuid::Uuid::new_v4().simple());
    let _ = rustls::crypto::ring::default_provider().install_default();
    let res = reqwest::Client::new()
        .put(format!("{endpoint}/{bucket}"))
        .send()
        .await
        .expect("create the test bucket");
    assert!(res.status().is_success(), "create bucket: {}", res.status());
    Some(format!(
        "s3://{bucket}/chat?endpoint={endpoint}&allow_http=true&region=us-east-1\
         &access_key_id=test&secret_access_key=test"
    ))
}
