//! A socket's room membership, as the service's `Membership` port.

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use socketioxide::adapter::Adapter;
use socketioxide::extract::SocketRef;

use super::realtime::{order_room, presence_room};
use super::state::SocketState;
use crate::domain::{OrderId, UserId};
use crate::realtime::Membership;

pub struct SocketRooms<A: Adapter>(pub SocketRef<A>);

impl<A: Adapter> SocketRooms<A> {
    fn with_joined<T>(&self, f: impl FnOnce(&mut BTreeSet<OrderId>) -> T) -> Option<T> {
        let state = self.0.extensions.get::<Arc<SocketState>>()?;
        let mut joined = state.joined.lock().unwrap_or_else(|p| p.into_inner());
        Some(f(&mut joined))
    }
}

#[async_trait]
impl<A: Adapter> Membership for SocketRooms<A> {
    async fn enter(&self, order: &OrderId, user: &UserId) {
        self.with_joined(|j| j.insert(order.clone()));
        self.0.join([order_room(order), presence_room(order, user)]);
    }
    async fn exit(&self, order: &OrderId, user: &UserId) {
        self.with_joined(|j| j.remove(order));
        self.0
            .leave([order_room(order), presence_room(order, user)]);
    }
    /// Joined, and not evicted since: an eviction (`Realtime::evict`, from any node) takes
    /// the socket out of the room but cannot reach this socket's own record, so the room
    /// decides while the socket is connected (once it is closed, only the record is left).
    fn is_in(&self, order: &OrderId) -> bool {
        if !self.with_joined(|j| j.contains(order)).unwrap_or(false) {
            return false;
        }
        if !self.0.connected() {
            return true;
        }
        let room = order_room(order);
        if self.0.rooms().iter().any(|r| *r == room) {
            return true;
        }
        self.with_joined(|j| j.remove(order));
        false
    }
    fn joined_orders(&self) -> Vec<OrderId> {
        self.with_joined(|j| j.iter().cloned().collect())
            .unwrap_or_default()
    }
}
