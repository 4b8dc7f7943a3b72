//! Postgres LISTEN on a connection of its own: the events listener's only way to hear what
//! other nodes commit. Kept here so that only `store/` names sqlx.
use sea_orm::sqlx::postgres::PgListener;

pub struct Listener(PgListener);

/// One notification: the channel it came on and its payload.
pub struct Notification {
    pub channel: String,
    pub payload: String,
}

impl Listener {
    /// Connects (not through the pool: this connection stays open for as long as the node
    /// listens) and listens on `channels`. A lost connection is reported by `next`, never
    /// re-established silently, so the caller can replay what it missed.
    pub async fn connect(url: &str, channels: &[&str]) -> anyhow::Result<Self> {
        let mut listener = PgListener::connect(url).await?;
        listener.eager_reconnect(false);
        listener.listen_all(channels.iter().copied()).await?;
        Ok(Self(listener))
    }

    /// The next notification; an error once the connection is lost.
    pub async fn next(&mut self) -> anyhow::Result<Notification> {
        // Not `recv`, which reconnects without a word: a loss must replay what it missed.
        let n = self
            .0
            .try_recv()
            .await?
            .ok_or_else(|| anyhow::anyhow!("the listening connection was lost"))?;
        Ok(Notification {
            channel: n.channel().to_string(),
            payload: n.payload().to_string(),
        })
    }
}
