//! The live side over socketioxide: the room names, and `Realtime` for the chat service.
//! Generic over the adapter, so the same code runs on one node and, through Redis, on many.

use async_trait::async_trait;
use futures_util::future::BoxFuture;
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use socketioxide::operators::BroadcastOperators;

use crate::domain::{OrderId, UserId};
use crate::presence::PresenceLedger;
use crate::realtime::Realtime;
use crate::wire::ServerEvent;

/// Every socket that joined the order's chat.
pub fn order_room(order: &OrderId) -> String {
    format!("order:{order}")
}

/// Every socket of one user (joined on connect).
pub fn user_room(user: &UserId) -> String {
    format!("user:{user}")
}

/// One user's sockets in one order's chat: presence counts these across nodes.
pub fn presence_room(order: &OrderId, user: &UserId) -> String {
    format!("order:{order}|user:{user}")
}

/// The root namespace's operators. `None` once shutdown has removed the namespace: the
/// disconnect handlers of the sockets it closes still run then, and socketioxide's `io.to()`
/// panics without the namespace.
fn root<A: Adapter>(io: &SocketIo<A>) -> Option<BroadcastOperators<A>> {
    io.of("/")
}

/// Sockets in a room on every node; this node's alone if the cluster cannot be asked.
async fn count_room<A: Adapter>(io: &SocketIo<A>, room: String) -> usize {
    let Some(all) = root(io) else { return 0 };
    match all.to(room.clone()).fetch_sockets().await {
        Ok(sockets) => sockets.len(),
        Err(e) => {
            tracing::warn!(error = %e, "cluster presence lookup failed; counting this node only");
            root(io).map_or(0, |ops| ops.local().to(room).sockets().len())
        }
    }
}

/// The live side over socketioxide. The `SocketIo` handle is set once the layer is built
/// (the service must exist first, as the handlers' state); before that, emits are dropped.
pub struct SocketRealtime<A: Adapter> {
    io: std::sync::OnceLock<SocketIo<A>>,
    ledger: Box<dyn PresenceLedger>,
}

impl<A: Adapter> SocketRealtime<A> {
    pub fn new(ledger: Box<dyn PresenceLedger>) -> Self {
        Self {
            io: std::sync::OnceLock::new(),
            ledger,
        }
    }

    pub fn attach(&self, io: SocketIo<A>) {
        let _ = self.io.set(io);
    }
}

#[async_trait]
impl<A: Adapter> Realtime for SocketRealtime<A> {
    async fn emit_to_order(
        &self,
        order: &OrderId,
        except_user: Option<&UserId>,
        event: &ServerEvent<'_>,
    ) {
        let Some(io) = self.io.get() else { return };
        let Some(all) = root(io) else { return };
        let target = |op: BroadcastOperators<A>| {
            let op = op.to(order_room(order));
            match except_user {
                Some(u) => op.except(user_room(u)),
                None => op,
            }
        };
        let name = event.name();
        if let Err(e) = target(all).emit(name, event).await {
            // The cluster adapter failed (Redis down): this node's own sockets still get it.
            tracing::warn!(%order, event = name, error = %e, "cluster broadcast failed; delivering locally");
            let Some(ops) = root(io) else { return };
            if let Err(e) = target(ops.local()).emit(name, event).await {
                tracing::warn!(%order, event = name, error = %e, "local broadcast failed");
            }
        }
    }

    async fn emit_to_user(&self, user: &UserId, event: &ServerEvent<'_>) {
        let Some(io) = self.io.get() else { return };
        let Some(all) = root(io) else { return };
        let name = event.name();
        if let Err(e) = all.to(user_room(user)).emit(name, event).await {
            tracing::warn!(event = name, error = %e, "cluster emit to a user failed; this node only");
            if let Some(ops) = root(io) {
                let _ = ops.local().to(user_room(user)).emit(name, event).await;
            }
        }
    }

    async fn evict(&self, order: &OrderId, user: &UserId) {
        let Some(io) = self.io.get() else { return };
        let Some(all) = root(io) else { return };
        let rooms = [order_room(order), presence_room(order, user)];
        if let Err(e) = all.to(user_room(user)).leave(rooms.clone()).await {
            tracing::warn!(%order, error = %e, "evicting on every node failed; this node only");
            if let Some(ops) = root(io) {
                let _ = ops.local().to(user_room(user)).leave(rooms).await;
            }
        }
    }

    async fn user_sockets_in_order(&self, order: &OrderId, user: &UserId) -> usize {
        match self.io.get() {
            Some(io) => count_room(io, presence_room(order, user)).await,
            None => 0,
        }
    }

    async fn settle_presence(&self, order: &OrderId, user: &UserId) -> Option<bool> {
        let io = self.io.get()?.clone();
        let room = presence_room(order, user);
        let count = move || -> BoxFuture<'static, usize> {
            let (io, room) = (io.clone(), room.clone());
            Box::pin(async move { count_room(&io, room).await })
        };
        self.ledger.settle(order, user, &count).await
    }

    async fn announced_online(&self, order: &OrderId, user: &UserId) -> bool {
        match self.ledger.is_online(order, user).await {
            Some(online) => online,
            None => self.user_sockets_in_order(order, user).await > 0,
        }
    }

    /// On every node (the limit is per user, not per node); this node's alone if the cluster
    /// cannot be asked.
    async fn user_socket_count(&self, user: &UserId) -> usize {
        match self.io.get() {
            Some(io) => count_room(io, user_room(user)).await,
            None => 0,
        }
    }

    async fn disconnect_user(&self, user: &UserId) {
        let Some(io) = self.io.get() else { return };
        let Some(all) = root(io) else { return };
        if let Err(e) = all.to(user_room(user)).disconnect().await {
            tracing::warn!(error = %e, "disconnecting a user on every node failed; this node only");
            if let Some(ops) = root(io) {
                let _ = ops.local().to(user_room(user)).disconnect().await;
            }
        }
    }

    async fn close(&self) {
        if let Some(io) = self.io.get() {
            io.close().await;
        }
    }
}
