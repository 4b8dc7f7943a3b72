//! The XMPP bridge as a whole, whichever node answers. One node bridges at a time; it writes
//! its status to the database every few seconds (`report`), and the other nodes show that
//! report while it is fresh, so an admin behind a load balancer sees the bridge, not the
//! standby of whichever node answered.
use chrono::{DateTime, Utc};

use crate::{
    error::Result,
    state::AppState,
    store::{self, bridge_status::Report},
    xmpp::BridgeStatus,
};

/// A report older than this is from a node that stopped bridging without saying so (killed,
/// cut off from the database); the bridging node reports every 5 s.
pub const REPORT_FRESH_FOR: chrono::Duration = chrono::Duration::seconds(30);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeView {
    /// The bridge's status; `leader` says whether the answering node is the one bridging.
    /// `standby` means no node has reported bridging lately.
    pub status: BridgeStatus,
    /// When the bridging node last reported, when another node bridges.
    pub reported_at: Option<DateTime<Utc>>,
}

/// Write this node's status as the bridge's. Only the bridging node calls this.
pub async fn report(state: &AppState) -> Result<()> {
    let status = state.bridge.get();
    let Some(jid) = status.jid else {
        return Ok(());
    };
    let rooms_joined = serde_json::to_string(&status.rooms_joined).map_err(anyhow::Error::from)?;
    store::bridge_status::save(
        &state.db,
        Report {
            jid,
            state: status.state,
            rooms_joined,
            last_error: status.last_error,
            last_error_at: status.last_error_at,
            connected_since: status.connected_since,
            reported_at: state.now(),
        },
    )
    .await?;
    Ok(())
}

/// The bridge's status: this node's own when it bridges (or the bridge is not configured),
/// else the bridging node's fresh report, else this node's standby.
pub async fn view(state: &AppState) -> Result<BridgeView> {
    let own = state.bridge.get();
    let report = match own.jid.as_deref() {
        Some(jid) if own.state == "standby" => {
            let fresh_after = state.now() - REPORT_FRESH_FOR;
            store::bridge_status::find(&state.db, jid)
                .await?
                .filter(|r| r.reported_at > fresh_after)
        }
        _ => None,
    };
    let Some(report) = report else {
        return Ok(BridgeView {
            status: own,
            reported_at: None,
        });
    };
    Ok(BridgeView {
        status: BridgeStatus {
            state: report.state,
            jid: Some(report.jid),
            // Written by `report` above; an unreadable list shows as none rather than failing.
            rooms_joined: serde_json::from_str(&report.rooms_joined).unwrap_or_default(),
            last_error: report.last_error,
            last_error_at: report.last_error_at,
            connected_since: report.connected_since,
            leader: false,
        },
        reported_at: Some(report.reported_at),
    })
}
