//! Which network a new pay-in or payout goes to, and why (`[routing]`).
//!
//! The candidates are the routes that take the order at all ([`Networks::route_amount`]: the
//! mode, the kind, the requested network, every limit on the amount, including
//! `[routing.networks.<code>]`'s). They are then ranked, best first, by:
//!
//! 1. **health**: a route whose circuit breaker is open is left out (a half-open one comes
//!    after the healthy ones; its create is the probe);
//! 2. **opening hours**: a network whose counters are closed now comes after those open
//!    (`opening_hours`, Bogotá time — a voucher or code is still usable tomorrow, so a closed
//!    network is a worse choice, not an impossible one);
//! 3. **preference**: the first `[[routing.rules]]` entry that matches the merchant, the
//!    method, the mode and the amount lists networks in order (`only = true` leaves out the
//!    rest);
//! 4. the route's `priority`, then the order configured.
//!
//! A request naming a network goes to that network's routes only; if every one is down it is
//! refused at once (503 `network_unavailable`, saying since when) rather than sent elsewhere.
//! The basis of the choice and every route left out are recorded on the order
//! (`routing_reason`), together with the routes a create fell over from.

use std::collections::BTreeMap;

use cajero_connect::OrderKind;
use cajero_domain::Amount;
use cajero_domain::id::MerchantId;
use cajero_domain::merchant::Mode;
use cajero_domain::network::AmountRange;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::health::{Health, State};
use crate::networks::{Network, Networks};

/// `[routing]`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoutingConfig {
    /// Preferences, the first that matches decides (`[[routing.rules]]`).
    pub rules: Vec<RoutingRule>,
    /// Per cash network (`[routing.networks.efecty]`): limits and opening hours, for every
    /// route that reaches it (the simulator's included).
    pub networks: BTreeMap<String, NetworkRouting>,
}

/// Which way an order goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Cash pay-ins (vouchers).
    Payin,
    /// Cash payouts (pick-up codes).
    Payout,
}

impl Method {
    fn of(kind: OrderKind) -> Method {
        match kind {
            OrderKind::Collection => Method::Payin,
            OrderKind::Payout => Method::Payout,
        }
    }
}

/// One preference.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoutingRule {
    /// Named in the order's `routing_reason`; default `rule N` (1-based).
    pub name: Option<String>,
    /// Merchant ids (`mer_…`) it applies to; empty: every merchant.
    pub merchants: Vec<String>,
    /// `payin`, `payout`; empty: both.
    pub methods: Vec<Method>,
    /// `test` or `live`; absent: both.
    pub mode: Option<Mode>,
    /// Smallest amount it applies to, whole pesos.
    pub amount_min: Option<i64>,
    /// Largest amount it applies to, whole pesos.
    pub amount_max: Option<i64>,
    /// Network codes, preferred first.
    pub prefer: Vec<String>,
    /// Only the networks in `prefer`: the others are never used for what this rule matches.
    pub only: bool,
}

/// Routing settings of one cash network.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkRouting {
    /// When its counters serve, Bogotá time: `"07:00-21:00"` (every day); absent: always.
    pub opening_hours: Option<String>,
    /// Narrower limits for vouchers, whole pesos.
    pub payin_amount_min: Option<i64>,
    /// Narrower limits for vouchers, whole pesos.
    pub payin_amount_max: Option<i64>,
    /// Narrower limits for pick-ups, whole pesos.
    pub payout_amount_min: Option<i64>,
    /// Narrower limits for pick-ups, whole pesos.
    pub payout_amount_max: Option<i64>,
}

/// Opening hours: minutes after Bogotá midnight, `[open, close)`; `close < open` spans
/// midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hours {
    open: u16,
    close: u16,
}

impl Hours {
    /// `"HH:MM-HH:MM"`.
    pub fn parse(text: &str) -> Result<Hours, String> {
        let minutes = |part: &str| -> Result<u16, String> {
            let (h, m) = part
                .trim()
                .split_once(':')
                .ok_or_else(|| format!("{part:?} is not HH:MM"))?;
            let h: u16 = h.parse().map_err(|_| format!("{part:?} is not HH:MM"))?;
            let m: u16 = m.parse().map_err(|_| format!("{part:?} is not HH:MM"))?;
            if h > 24 || m > 59 || (h == 24 && m != 0) {
                return Err(format!("{part:?} is not a time of day"));
            }
            Ok(h * 60 + m)
        };
        let (open, close) = text
            .split_once('-')
            .ok_or_else(|| format!("{text:?} is not HH:MM-HH:MM"))?;
        let hours = Hours {
            open: minutes(open)?,
            close: minutes(close)?,
        };
        if hours.open == hours.close {
            return Err(format!(
                "{text:?} opens and closes at once (leave it out for always open)"
            ));
        }
        Ok(hours)
    }

    /// Whether counters serve at `at`.
    pub fn open_at(self, at: Timestamp) -> bool {
        let local = cajero_domain::calendar::bogota().to_datetime(at);
        let now = u16::try_from(local.hour()).unwrap_or(0) * 60
            + u16::try_from(local.minute()).unwrap_or(0);
        if self.open < self.close {
            (self.open..self.close).contains(&now)
        } else {
            now >= self.open || now < self.close
        }
    }
}

impl NetworkRouting {
    /// The configured limits for `kind`, if any.
    pub fn limits(&self, kind: OrderKind) -> Option<AmountRange> {
        let (min, max) = match kind {
            OrderKind::Collection => (self.payin_amount_min, self.payin_amount_max),
            OrderKind::Payout => (self.payout_amount_min, self.payout_amount_max),
        };
        (min.is_some() || max.is_some()).then(|| AmountRange {
            min: min.unwrap_or(1),
            max: max.unwrap_or(i64::MAX),
        })
    }

    fn hours(&self) -> Option<Hours> {
        self.opening_hours
            .as_deref()
            .and_then(|h| Hours::parse(h).ok())
    }
}

impl RoutingRule {
    fn matches(&self, request: &RouteRequest<'_>) -> bool {
        let merchant = request.merchant.to_string();
        (self.merchants.is_empty() || self.merchants.contains(&merchant))
            && (self.methods.is_empty() || self.methods.contains(&Method::of(request.kind)))
            && self.mode.is_none_or(|m| m == request.mode)
            && self
                .amount_min
                .is_none_or(|min| request.amount.minor() >= min)
            && self
                .amount_max
                .is_none_or(|max| request.amount.minor() <= max)
    }
}

impl RoutingConfig {
    /// Checks the values; the error names the key.
    pub fn validate(&self) -> Result<(), (String, String)> {
        for (i, rule) in self.rules.iter().enumerate() {
            let key = |field: &str| format!("routing.rules[{i}].{field}");
            for m in &rule.merchants {
                if m.parse::<MerchantId>().is_err() {
                    return Err((
                        key("merchants"),
                        format!("{m:?} is not a merchant id (mer_…)"),
                    ));
                }
            }
            if rule.prefer.is_empty() {
                return Err((key("prefer"), "lists no network".into()));
            }
            for code in &rule.prefer {
                if cajero_domain::network::spec(code).is_none() {
                    return Err((key("prefer"), format!("{code:?} is not a known network")));
                }
            }
            if let (Some(min), Some(max)) = (rule.amount_min, rule.amount_max)
                && min > max
            {
                return Err((key("amount_min"), "is above amount_max".into()));
            }
        }
        for (code, n) in &self.networks {
            let key = |field: &str| format!("routing.networks.{code}.{field}");
            if cajero_domain::network::spec(code).is_none() {
                return Err((
                    format!("routing.networks.{code}"),
                    format!("{code:?} is not a known network"),
                ));
            }
            if let Some(hours) = &n.opening_hours {
                Hours::parse(hours).map_err(|e| (key("opening_hours"), e))?;
            }
            for (field, min, max) in [
                ("payin_amount_min", n.payin_amount_min, n.payin_amount_max),
                (
                    "payout_amount_min",
                    n.payout_amount_min,
                    n.payout_amount_max,
                ),
            ] {
                if min.is_some_and(|m| m < 1) {
                    return Err((key(field), "must be at least 1".into()));
                }
                if let (Some(min), Some(max)) = (min, max)
                    && min > max
                {
                    return Err((key(field), "is above the maximum".into()));
                }
            }
        }
        Ok(())
    }
}

/// What is being routed.
#[derive(Debug, Clone, Copy)]
pub struct RouteRequest<'a> {
    /// The caller's merchant.
    pub merchant: MerchantId,
    /// Its mode.
    pub mode: Mode,
    /// Voucher or pick-up.
    pub kind: OrderKind,
    /// The `network` the request named.
    pub requested: Option<&'a str>,
    /// How much.
    pub amount: Amount,
}

/// The routes to try, best first, and why.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Best first.
    pub candidates: Vec<Network>,
    /// The basis of the order: `requested network`, `rule "x"`, `priority`.
    pub basis: String,
    /// Routes left out or put last, and why (`sured: circuit open since …`).
    pub notes: Vec<String>,
}

impl Plan {
    /// The reason recorded on an order made through `chosen` after the routes in `fell_over`
    /// (each with what went wrong) were tried first.
    pub fn reason(&self, chosen: &Network, fell_over: &[String]) -> String {
        let mut reason = format!("{} ({})", route_name(chosen), self.basis);
        for note in self.notes.iter().chain(fell_over) {
            reason.push_str("; ");
            reason.push_str(note);
        }
        reason
    }
}

/// `efecty` for the simulator's route, `efecty via dlocal` otherwise.
pub fn route_name(network: &Network) -> String {
    if network.route == crate::networks::SIMULATOR_ROUTE {
        network.code.clone()
    } else {
        format!("{} via {}", network.code, network.route)
    }
}

/// Ranks the routes for `request` (see the module's documentation).
pub fn plan(
    networks: &Networks,
    config: &RoutingConfig,
    health: &Health,
    request: &RouteRequest<'_>,
    now: Timestamp,
) -> Result<Plan, ApiError> {
    let candidates = networks.route_amount(
        request.mode,
        request.requested,
        request.kind,
        request.amount,
        |code| {
            config
                .networks
                .get(code)
                .and_then(|n| n.limits(request.kind))
        },
    )?;
    let mut notes: Vec<String> = Vec::new();
    let (rule_index, rule) = match request.requested {
        Some(_) => (None, None),
        None => config
            .rules
            .iter()
            .enumerate()
            .find(|(_, r)| r.matches(request))
            .map_or((None, None), |(i, r)| (Some(i), Some(r))),
    };
    let basis = match (request.requested, rule_index, rule) {
        (Some(code), _, _) => format!("network {code} requested"),
        (None, Some(i), Some(rule)) => format!(
            "{} prefers {}",
            rule.name
                .clone()
                .unwrap_or_else(|| format!("rule {}", i + 1)),
            rule.prefer.join(", ")
        ),
        _ => "configured priority".to_string(),
    };
    let mut ranked: Vec<(u8, u8, usize, u32, usize, Network)> = Vec::new();
    let mut down: Vec<String> = Vec::new();
    for (order, network) in candidates.into_iter().enumerate() {
        let preference = match rule {
            Some(rule) => match rule.prefer.iter().position(|c| *c == network.code) {
                Some(p) => p,
                None if rule.only => continue,
                None => usize::MAX,
            },
            None => 0,
        };
        let health_tier = match health.state(&network, now) {
            State::Closed => 0,
            State::HalfOpen => 1,
            State::Open => {
                let since = health.since(&network, now);
                down.push(format!(
                    "{} skipped: circuit open since {}",
                    route_name(&network),
                    crate::time::rfc3339(since)
                ));
                continue;
            }
        };
        let hours = config.networks.get(&network.code).and_then(|n| n.hours());
        let hours_tier = match hours {
            Some(h) if !h.open_at(now) => {
                notes.push(format!(
                    "{} put last: counters closed now (open {})",
                    route_name(&network),
                    config.networks[&network.code]
                        .opening_hours
                        .as_deref()
                        .unwrap_or_default()
                ));
                1
            }
            _ => 0,
        };
        ranked.push((
            health_tier,
            hours_tier,
            preference,
            network.priority,
            order,
            network,
        ));
    }
    ranked.sort_by_key(|(h, o, p, prio, i, _)| (*h, *o, *p, *prio, *i));
    if ranked.is_empty() {
        if !down.is_empty() {
            return Err(crate::networks::networks_down(format!(
                "No network can take it now: {}. Nothing was created; retry later{}.",
                down.join("; "),
                if request.requested.is_some() {
                    ", or leave out `network` to let cajero route it"
                } else {
                    ""
                }
            )));
        }
        let rule = rule.map(|r| r.prefer.join(", ")).unwrap_or_default();
        return Err(crate::networks::no_network_available(format!(
            "the routing rule that matches allows only {rule}, and none of them takes this {}",
            match request.kind {
                OrderKind::Collection => "pay-in",
                OrderKind::Payout => "payout",
            }
        )));
    }
    down.extend(notes);
    Ok(Plan {
        candidates: ranked.into_iter().map(|(.., n)| n).collect(),
        basis,
        notes: down,
    })
}

/// [`plan`] for a new order of `caller`, with the instance's networks, configuration, health
/// and time.
pub fn plan_order(
    state: &crate::AppState,
    caller: crate::auth::Caller,
    kind: OrderKind,
    requested: Option<&str>,
    amount: Amount,
) -> Result<Plan, ApiError> {
    plan(
        &state.networks,
        &state.config.routing,
        state.networks.health(),
        &RouteRequest {
            merchant: caller.merchant_id,
            mode: caller.mode,
            kind,
            requested,
            amount,
        },
        state.clock.now(),
    )
}

/// The plan of a retry of an order whose earlier attempt may have reached its network: that
/// route alone (it finds the earlier order by our reference; any other network would make a
/// second one). Empty when the route is no longer configured: the order is then not sent
/// anywhere.
pub fn resume(networks: &Networks, mode: Mode, network: &str, route: &str) -> Plan {
    Plan {
        candidates: networks
            .all()
            .into_iter()
            .filter(|n| n.mode == mode && n.code == network && n.route == route)
            .collect(),
        basis: "the route its interrupted attempt went to".to_string(),
        notes: Vec::new(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn opening_hours_parse_and_span_midnight_in_bogota() {
        let day = Hours::parse("07:00-21:00").unwrap();
        let night = Hours::parse("22:00-06:00").unwrap();
        // 12:00 UTC is 07:00 in Bogotá; 02:00 UTC is 21:00 the day before.
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        assert!(day.open_at(at("2026-12-01T12:00:00Z")));
        assert!(!day.open_at(at("2026-12-01T11:59:00Z")));
        assert!(!day.open_at(at("2026-12-02T02:00:00Z")));
        assert!(night.open_at(at("2026-12-02T03:30:00Z")));
        assert!(!night.open_at(at("2026-12-01T17:00:00Z")));
        for bad in ["7-21", "07:00", "25:00-26:00", "07:00-07:00", "07:60-08:00"] {
            assert!(Hours::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rules_and_networks_are_validated_naming_the_key() {
        let mut config = RoutingConfig::default();
        config.rules.push(RoutingRule {
            prefer: vec!["nowhere".into()],
            ..RoutingRule::default()
        });
        assert_eq!(config.validate().unwrap_err().0, "routing.rules[0].prefer");
        config.rules[0].prefer = vec!["sured".into()];
        config.rules[0].merchants = vec!["acme".into()];
        assert_eq!(
            config.validate().unwrap_err().0,
            "routing.rules[0].merchants"
        );
        config.rules[0].merchants.clear();
        config.validate().unwrap();
        config.networks.insert(
            "efecty".into(),
            NetworkRouting {
                opening_hours: Some("9-5".into()),
                ..NetworkRouting::default()
            },
        );
        assert_eq!(
            config.validate().unwrap_err().0,
            "routing.networks.efecty.opening_hours"
        );
    }
}
