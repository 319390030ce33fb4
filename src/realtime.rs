//! The service's port to the live connections: emit to an order's room, count a user's
//! sockets in it (on every node), disconnect a user. The Socket.IO adapter implements it
//! (`socket::realtime`); service tests use a recording stand-in.

use async_trait::async_trait;

use crate::domain::{OrderId, UserId};
use crate::wire::ServerEvent;

#[async_trait]
pub trait Realtime: Send + Sync + 'static {
    /// Emit to every socket in the order's room, except (optionally) one user's sockets.
    async fn emit_to_order(
        &self,
        order: &OrderId,
        except_user: Option<&UserId>,
        event: &ServerEvent<'_>,
    );
    /// Emit to every socket of one user, on every node.
    async fn emit_to_user(&self, user: &UserId, event: &ServerEvent<'_>);
    /// Take every socket of this user out of the order's room, on every node, and return once
    /// that is done: from then on nothing of the order reaches them.
    async fn evict(&self, order: &OrderId, user: &UserId);
    /// How many sockets of this user are in this order's room, on every node.
    async fn user_sockets_in_order(&self, order: &OrderId, user: &UserId) -> usize;
    /// Compare the user's sockets in the order (on every node) with their recorded presence,
    /// exclusively for that pair across the cluster; `Some(online)` when the record changed.
    async fn settle_presence(&self, order: &OrderId, user: &UserId) -> Option<bool>;
    /// Whether the user is announced online in the order (they may be within the presence
    /// grace after their last socket left).
    async fn announced_online(&self, order: &OrderId, user: &UserId) -> bool;
    /// How many sockets this user has open, on every node.
    async fn user_socket_count(&self, user: &UserId) -> usize;
    /// Disconnect every socket of this user, on every node.
    async fn disconnect_user(&self, user: &UserId);
    /// Close every socket of this node (shutdown).
    async fn close(&self);
}

/// A socket's own room membership, as the service needs it for join/leave/typing.
#[async_trait]
pub trait Membership: Send + Sync {
    async fn enter(&self, order: &OrderId, user: &UserId);
    async fn exit(&self, order: &OrderId, user: &UserId);
    fn is_in(&self, order: &OrderId) -> bool;
    /// The orders whose chat this socket is in.
    fn joined_orders(&self) -> Vec<OrderId>;
}
