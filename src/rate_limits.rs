//! Request rate limits of one node: per API client (or dashboard user) and per source
//! address, each a GCRA bucket that refills evenly over a minute. Limits are per node, kept
//! in memory: behind a load balancer with N nodes a caller can reach N times the limit.
use crate::error::Code;
use std::{fmt, net::IpAddr, num::NonZeroU32};

use governor::{DefaultKeyedRateLimiter, Quota, clock::Clock, clock::DefaultClock};
use uuid::Uuid;

use crate::{
    config::LimitsConfig,
    error::{Error, Result},
};

pub struct RateLimits {
    clients: Option<DefaultKeyedRateLimiter<Uuid>>,
    addresses: Option<DefaultKeyedRateLimiter<IpAddr>>,
}

impl fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimits")
            .field("clients", &self.clients.is_some())
            .field("addresses", &self.addresses.is_some())
            .finish()
    }
}

fn limiter<K: std::hash::Hash + Eq + Clone>(
    per_minute: Option<u32>,
) -> Option<DefaultKeyedRateLimiter<K>> {
    let n = NonZeroU32::new(per_minute?)?;
    Some(DefaultKeyedRateLimiter::keyed(Quota::per_minute(n)))
}

fn check<K: std::hash::Hash + Eq + Clone>(
    limiter: &Option<DefaultKeyedRateLimiter<K>>,
    key: &K,
    who: &str,
) -> Result<()> {
    let Some(limiter) = limiter else {
        return Ok(());
    };
    limiter.check_key(key).map_err(|not_until| {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        Error::TooManyRequests {
            code: Code::RateLimited,
            message: format!("too many requests from this {who}; slow down"),
            // Whole seconds, rounded up: a client that waits that long gets through.
            retry_after: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
        }
    })
}

impl RateLimits {
    pub fn new(config: &LimitsConfig) -> Self {
        Self {
            clients: limiter(config.per_client_per_minute),
            addresses: limiter(config.per_address_per_minute),
        }
    }

    /// One request by an API client or dashboard user (`id`).
    pub fn check_client(&self, id: Uuid) -> Result<()> {
        check(&self.clients, &id, "client")
    }

    /// One request from a source address.
    pub fn check_address(&self, address: IpAddr) -> Result<()> {
        check(&self.addresses, &address, "address")
    }

    /// Drop the buckets of callers that have been quiet long enough to be full again, so the
    /// maps do not grow with every address ever seen.
    pub fn forget_idle(&self) {
        if let Some(l) = &self.clients {
            l.retain_recent();
            l.shrink_to_fit();
        }
        if let Some(l) = &self.addresses {
            l.retain_recent();
            l.shrink_to_fit();
        }
    }
}
