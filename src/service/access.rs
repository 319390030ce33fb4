//! Who is calling and what they may touch: token verification against the directory, the
//! one access rule of an order, and the per-user socket limit.

use super::{Access, Caller, ChatService};
use crate::domain::{OrderRef, ProfileSource, User, UserType};
use crate::error::{AuthFailure, ChatError, ChatResult};

impl ChatService {
    /// May this user open one more socket on this node?
    pub async fn admit_socket(&self, caller: &Caller) -> ChatResult<()> {
        let open = self.realtime.user_socket_count(&caller.user_id).await;
        if open >= self.throttles.limits.sockets_per_user {
            return Err(ChatError::LimitExceeded(format!(
                "Too many connections: at most {} per user",
                self.throttles.limits.sockets_per_user
            )));
        }
        Ok(())
    }

    /// Verify a token and check the user against the directory (blocked users are refused).
    /// A user the directory does not know yet is recorded from the token's claims.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn authenticate(&self, token: Option<&str>) -> ChatResult<Caller> {
        let token = token.map(str::trim).filter(|t| !t.is_empty());
        let token = token.ok_or(ChatError::Unauthorized(AuthFailure::Missing))?;
        let subject = self
            .verifier
            .verify(token)
            .map_err(ChatError::Unauthorized)?;
        let user = match self.store.get_user(&subject.user_id).await? {
            Some(u) => u,
            None => {
                let u = User {
                    id: subject.user_id.clone(),
                    name: subject
                        .name
                        .clone()
                        .unwrap_or_else(|| subject.user_id.to_string()),
                    user_type: subject.user_type.unwrap_or(UserType::Customer),
                    display_image: subject.display_image.clone(),
                    blocked: false,
                };
                self.store
                    .put_user(&u, ProfileSource::TokenClaims, None)
                    .await?;
                u
            }
        };
        if user.blocked {
            return Err(ChatError::Unauthorized(AuthFailure::Blocked));
        }
        Ok(Caller {
            user_type: if subject.is_admin {
                UserType::Admin
            } else {
                user.user_type
            },
            user_id: user.id,
            is_admin: subject.is_admin,
            name: user.name,
            display_image: user.display_image,
            expires_at: subject.expires_at,
        })
    }

    /// The one access rule: an order's customer, its agents and admins; everyone else is
    /// `FORBIDDEN`. An unknown order is `ORDER_NOT_FOUND`.
    #[tracing::instrument(level = "debug", skip_all, fields(order = order.as_str(), user = %caller.user_id))]
    pub(super) async fn access(&self, caller: &Caller, order: &OrderRef) -> ChatResult<Access> {
        let version = self.versions.current().await;
        let cached = version.and_then(|v| self.orders.get(order.as_str(), v));
        let order = match cached {
            Some(o) => o,
            None => {
                let o = self
                    .store
                    .find_order(order.as_str())
                    .await?
                    .ok_or(ChatError::OrderNotFound)?;
                if let Some(v) = version {
                    self.orders.put(&o, v);
                }
                o
            }
        };
        let role = match order.role_of(&caller.user_id) {
            Some(role) => role,
            None if caller.is_admin => UserType::Admin,
            None => return Err(ChatError::not_participant()),
        };
        Ok(Access { order, role })
    }

    /// `refresh-token`: a new token for a live socket. It must be valid and name the same user
    /// (with the same admin standing); the socket then lives until the new token's expiry.
    #[tracing::instrument(level = "debug", skip_all, fields(user = %caller.user_id))]
    pub async fn refresh(&self, caller: &Caller, token: Option<&str>) -> ChatResult<Caller> {
        let fresh = self.authenticate(token).await?;
        if fresh.user_id != caller.user_id || fresh.is_admin != caller.is_admin {
            return Err(ChatError::Unauthorized(AuthFailure::Invalid));
        }
        Ok(fresh)
    }
}
