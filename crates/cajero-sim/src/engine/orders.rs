//! Creating, reading, listing and canceling orders (the connector's side).

use cajero_domain::calendar::bogota;
use cajero_domain::{Amount, Document, PersonName};
use jiff::{SignedDuration, Timestamp};
use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::{SimError, State};
use crate::codes::{gs1_128_data, normalize_document_number, random_code};
use crate::config::NetworkProfile;
use crate::model::{Magic, Order, OrderKind, OrderStatus, Party};

/// Magic values of API.md's test-mode table.
const MAGIC_REJECTED_DOCUMENT: &str = "1111111111";
const MAGIC_MISMATCH_DOCUMENT: &str = "2222222222";
const MAGIC_UNAVAILABLE_AMOUNT: i64 = 66_666;
const MAGIC_CONFIRM_TWICE_AMOUNT: i64 = 77_777;
const MAGIC_CALLBACK_LOST_AMOUNT: i64 = 88_888;

/// Draws before giving up on finding an unused code.
const CODE_DRAWS_MAX: u32 = 64;

/// Longest merchant reference, in bytes.
pub const REFERENCE_BYTES_MAX: usize = 64;

/// Longest callback URL on a create, in bytes.
pub const CALLBACK_URL_BYTES_MAX: usize = 2_048;

/// A customer or beneficiary as sent by the connector.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartyInput {
    /// Full name.
    #[serde(default)]
    pub name: Option<String>,
    /// Identity document.
    #[serde(default)]
    pub document: Option<Document>,
}

/// `POST /v1/collections`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateCollection {
    /// Network profile; the default network when absent.
    #[serde(default)]
    pub network: Option<String>,
    /// The merchant's reference, unique per merchant.
    pub reference: String,
    /// COP, whole pesos.
    pub amount: Amount,
    /// Only `COP`.
    #[serde(default)]
    pub currency: Option<String>,
    /// Who pays (optional).
    #[serde(default)]
    pub customer: Option<PartyInput>,
    /// Validity from now; the profile's default when absent.
    #[serde(default)]
    pub expires_in_seconds: Option<i64>,
    /// Where this order's callbacks go (dLocal's `notification_url`, PayU's
    /// `confirmationUrl`); the merchant's `callback_url` when absent. Never part of the
    /// fingerprint of a create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
    /// The merchant's test clock the order lives on (test mode); never part of the
    /// fingerprint of a create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_clock: Option<super::TestClockRef>,
    /// The protocol the create came in (set by a gateway dialect, never sent as JSON).
    #[serde(skip)]
    pub dialect: crate::dialect::Dialect,
}

/// `POST /v1/payouts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreatePayout {
    /// Network profile; the default network when absent.
    #[serde(default)]
    pub network: Option<String>,
    /// The merchant's reference, unique per merchant.
    pub reference: String,
    /// COP, whole pesos.
    pub amount: Amount,
    /// Only `COP`.
    #[serde(default)]
    pub currency: Option<String>,
    /// Who collects: name and document are required.
    pub beneficiary: PartyInput,
    /// Validity from now; the profile's default when absent.
    #[serde(default)]
    pub expires_in_seconds: Option<i64>,
    /// Where this order's callbacks go (dLocal's `notification_url`, PayU's
    /// `confirmationUrl`); the merchant's `callback_url` when absent. Never part of the
    /// fingerprint of a create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
    /// The merchant's test clock the order lives on (test mode); never part of the
    /// fingerprint of a create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_clock: Option<super::TestClockRef>,
    /// The protocol the create came in (set by a gateway dialect, never sent as JSON).
    #[serde(skip)]
    pub dialect: crate::dialect::Dialect,
}

/// A create's answer: the order, and whether it already existed (a repeated create).
#[derive(Debug, Clone)]
pub struct Created {
    /// The order.
    pub order: Order,
    /// True when the same request had created it before.
    pub replayed: bool,
}

/// Filters of a list.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListFilter {
    /// Only this status.
    pub status: Option<String>,
    /// Only this merchant reference.
    pub reference: Option<String>,
    /// At most this many (1–100, default 20).
    pub limit: Option<usize>,
    /// Orders created before this id (newest first pagination).
    pub starting_after: Option<String>,
    /// Only this network. A network taken down answers [`SimError::NetworkDown`]; without
    /// this filter, the orders of networks taken down are left out.
    pub network: Option<String>,
}

/// Largest page of a list.
pub const PAGE_SIZE_MAX: usize = 100;
const PAGE_SIZE_DEFAULT: usize = 20;

struct NewOrder {
    kind: OrderKind,
    network: Option<String>,
    reference: String,
    amount: Amount,
    currency: Option<String>,
    party: Party,
    expires_in_seconds: Option<i64>,
    callback_url: Option<String>,
    test_clock: Option<super::TestClockRef>,
    fingerprint: String,
    dialect: crate::dialect::Dialect,
}

impl State {
    /// Creates a voucher (or answers a repeated create with the same one).
    pub fn create_collection(
        &mut self,
        merchant_id: &str,
        mut req: CreateCollection,
        now: Timestamp,
    ) -> Result<Created, SimError> {
        // Where to call back is not part of what is ordered: a repeated create from another
        // address is the same order.
        let callback_url = req.callback_url.take();
        let test_clock = req.test_clock.take();
        let fingerprint = serde_json::to_string(&req).unwrap_or_default();
        let customer = req.customer.unwrap_or_default();
        let party = Party {
            name: customer
                .name
                .map(|n| parse_name(&n, "customer.name"))
                .transpose()?,
            document: customer.document,
        };
        self.create(
            merchant_id,
            NewOrder {
                kind: OrderKind::Collection,
                network: req.network,
                reference: req.reference,
                amount: req.amount,
                currency: req.currency,
                party,
                expires_in_seconds: req.expires_in_seconds,
                callback_url,
                test_clock,
                fingerprint,
                dialect: req.dialect,
            },
            now,
        )
    }

    /// Issues a pick-up code (or answers a repeated create with the same one).
    pub fn create_payout(
        &mut self,
        merchant_id: &str,
        mut req: CreatePayout,
        now: Timestamp,
    ) -> Result<Created, SimError> {
        let callback_url = req.callback_url.take();
        let test_clock = req.test_clock.take();
        let fingerprint = serde_json::to_string(&req).unwrap_or_default();
        let name = req.beneficiary.name.ok_or(SimError::InvalidRequest {
            param: "beneficiary.name",
            message: "required".into(),
        })?;
        let document = req.beneficiary.document.ok_or(SimError::InvalidRequest {
            param: "beneficiary.document",
            message: "required".into(),
        })?;
        let party = Party {
            name: Some(parse_name(&name, "beneficiary.name")?),
            document: Some(document),
        };
        self.create(
            merchant_id,
            NewOrder {
                kind: OrderKind::Payout,
                network: req.network,
                reference: req.reference,
                amount: req.amount,
                currency: req.currency,
                party,
                expires_in_seconds: req.expires_in_seconds,
                callback_url,
                test_clock,
                fingerprint,
                dialect: req.dialect,
            },
            now,
        )
    }

    fn create(
        &mut self,
        merchant_id: &str,
        new: NewOrder,
        now: Timestamp,
    ) -> Result<Created, SimError> {
        if !self.merchants.contains_key(merchant_id) {
            return Err(SimError::UnknownMerchant);
        }
        // A network that is down answers nothing, not even a replay.
        self.ensure_up(new.network.as_deref().unwrap_or(&self.default_network))?;
        let reference = new.reference.trim().to_owned();
        if reference.is_empty() || reference.len() > REFERENCE_BYTES_MAX {
            return Err(SimError::InvalidRequest {
                param: "reference",
                message: format!("1 to {REFERENCE_BYTES_MAX} bytes"),
            });
        }
        if let Some(existing) =
            self.by_reference
                .get(&(merchant_id.to_owned(), new.kind, reference.clone()))
        {
            let order = self
                .orders
                .get(existing)
                .cloned()
                .ok_or(SimError::NotFound)?;
            return if order.fingerprint == new.fingerprint {
                Ok(Created {
                    order,
                    replayed: true,
                })
            } else {
                Err(SimError::ReferenceConflict {
                    existing_id: order.id,
                })
            };
        }
        if let Some(url) = &new.callback_url
            && !valid_callback_url(url)
        {
            return Err(SimError::InvalidRequest {
                param: "callback_url",
                message: format!(
                    "an http:// or https:// URL of at most {CALLBACK_URL_BYTES_MAX} bytes"
                ),
            });
        }
        // An order on a test clock is created at that clock's time.
        let now = match &new.test_clock {
            Some(clock) => {
                self.advance_test_clock(merchant_id, &clock.id, clock.frozen_time)?
                    .now
            }
            None => now,
        };
        if new.currency.as_deref().is_some_and(|c| c != "COP") {
            return Err(SimError::InvalidRequest {
                param: "currency",
                message: "cash networks in Colombia move COP only".into(),
            });
        }
        let network = new.network.unwrap_or_else(|| self.default_network.clone());
        let profile = self.profile(&network)?.clone();
        if let Some(since) = profile.discontinued_on
            && now.to_zoned_datetime(bogota()).date() >= since
        {
            return Err(SimError::NetworkDiscontinued { since });
        }
        let document_number = new
            .party
            .document
            .as_ref()
            .map(|d| normalize_document_number(d.number()));
        let magic_on = self.magic_values;
        if magic_on && new.amount.minor() == MAGIC_UNAVAILABLE_AMOUNT {
            return Err(SimError::NetworkUnavailable);
        }
        if magic_on && document_number.as_deref() == Some(MAGIC_REJECTED_DOCUMENT) {
            return Err(SimError::BeneficiaryRejected);
        }
        let (min, max, validity) = match new.kind {
            OrderKind::Collection => (
                profile.collection_amount_min,
                profile.collection_amount_max,
                (
                    profile.collection_validity_seconds_min,
                    profile.collection_validity_seconds_max,
                    profile.collection_validity_seconds_default,
                ),
            ),
            OrderKind::Payout => (
                profile.payout_amount_min,
                profile.payout_amount_max,
                (
                    profile.payout_validity_seconds_min,
                    profile.payout_validity_seconds_max,
                    profile.payout_validity_seconds_default,
                ),
            ),
        };
        let got = new.amount.minor();
        if got < min || got > max {
            return Err(SimError::AmountOutOfRange { min, max, got });
        }
        let seconds = new.expires_in_seconds.unwrap_or(validity.2);
        if seconds < validity.0 || seconds > validity.1 {
            return Err(SimError::ValidityOutOfRange {
                min: validity.0,
                max: validity.1,
                got: seconds,
            });
        }
        let expires_at = now
            .saturating_add(SignedDuration::from_secs(seconds))
            .unwrap_or(now);
        let code = self.unused_code(&profile, new.kind)?;
        self.meta.order_seq += 1;
        self.dirty.meta = true;
        let id = format!(
            "{}_{:010}{:06x}",
            new.kind.id_prefix(),
            self.meta.order_seq,
            self.rng.random_range(0..0x0100_0000u32)
        );
        let magic = Magic {
            always_document_mismatch: magic_on
                && new.kind == OrderKind::Payout
                && document_number.as_deref() == Some(MAGIC_MISMATCH_DOCUMENT),
            confirm_twice: magic_on && got == MAGIC_CONFIRM_TWICE_AMOUNT,
            payment_callback_lost: magic_on && got == MAGIC_CALLBACK_LOST_AMOUNT,
        };
        let autopilot_at = self.autopilot_visit(new.kind, now);
        let order = Order {
            id: id.clone(),
            kind: new.kind,
            network: profile.name.clone(),
            merchant_id: merchant_id.to_owned(),
            reference,
            amount: new.amount,
            status: match new.kind {
                OrderKind::Collection => OrderStatus::Pending,
                OrderKind::Payout => OrderStatus::Available,
            },
            code: code.clone(),
            agreement_code: profile.agreement_code.clone(),
            barcode_data: (new.kind == OrderKind::Collection)
                .then(|| gs1_128_data(&profile.gln, &code, new.amount, expires_at)),
            party: new.party,
            created_at: now,
            updated_at: now,
            expires_at,
            active_from: next_activation(&profile, now),
            paid_at: None,
            paid_counter_id: None,
            paid_attempt_id: None,
            canceled_at: None,
            expired_at: None,
            wrong_code_attempts: 0,
            attempt_ids: Vec::new(),
            magic,
            fingerprint: new.fingerprint,
            autopilot_at,
            callback_url: new.callback_url,
            test_clock: new.test_clock.map(|c| c.id),
            dialect: new.dialect,
            refunds: Vec::new(),
        };
        self.index_order(&order);
        self.orders.insert(id.clone(), order.clone());
        self.dirty.orders.insert(id);
        Ok(Created {
            order,
            replayed: false,
        })
    }

    fn unused_code(
        &mut self,
        profile: &NetworkProfile,
        kind: OrderKind,
    ) -> Result<String, SimError> {
        let digits = match kind {
            OrderKind::Collection => profile.payment_code_digits,
            OrderKind::Payout => profile.pickup_code_digits,
        };
        for _ in 0..CODE_DRAWS_MAX {
            let code = random_code(&mut self.rng, digits);
            if !self
                .by_code
                .contains_key(&(profile.name.clone(), kind, code.clone()))
            {
                return Ok(code);
            }
        }
        Err(SimError::CodeSpaceExhausted)
    }

    /// When the autopilot will visit a counter for a new order, if it will.
    fn autopilot_visit(&mut self, kind: OrderKind, now: Timestamp) -> Option<Timestamp> {
        let autopilot = self.autopilot();
        if !autopilot.enabled {
            return None;
        }
        let share = match kind {
            OrderKind::Collection => autopilot.collection_pay_bps,
            OrderKind::Payout => autopilot.payout_collect_bps,
        };
        if !self.chance(share) {
            return None;
        }
        let low = autopilot.delay_seconds_min.max(0);
        let high = autopilot.delay_seconds_max.max(low);
        let delay = self.rng.random_range(low..=high);
        now.saturating_add(SignedDuration::from_secs(delay)).ok()
    }

    /// The merchant's order of this kind, by the network's id ([`SimError::NetworkDown`] while
    /// its network is taken down).
    pub fn order(&self, merchant_id: &str, kind: OrderKind, id: &str) -> Result<&Order, SimError> {
        let order = self
            .orders
            .get(id)
            .filter(|o| o.merchant_id == merchant_id && o.kind == kind)
            .ok_or(SimError::NotFound)?;
        self.ensure_up(&order.network)?;
        Ok(order)
    }

    /// The merchant's order of this kind, by the merchant's reference.
    pub fn order_by_reference(
        &self,
        merchant_id: &str,
        kind: OrderKind,
        reference: &str,
    ) -> Result<&Order, SimError> {
        let id = self
            .by_reference
            .get(&(merchant_id.to_owned(), kind, reference.to_owned()))
            .ok_or(SimError::NotFound)?;
        self.order(merchant_id, kind, id)
    }

    /// Any order by id (counter side and admin).
    pub fn order_any(&self, id: &str) -> Option<&Order> {
        self.orders.get(id)
    }

    /// The merchant's orders of this kind, newest first.
    pub fn list(
        &self,
        merchant_id: &str,
        kind: OrderKind,
        filter: &ListFilter,
    ) -> Result<(Vec<&Order>, bool), SimError> {
        if let Some(network) = &filter.network {
            self.profile(network)?;
            self.ensure_up(network)?;
        }
        let limit = filter
            .limit
            .unwrap_or(PAGE_SIZE_DEFAULT)
            .clamp(1, PAGE_SIZE_MAX);
        let mut orders: Vec<&Order> = self
            .orders
            .values()
            .filter(|o| o.merchant_id == merchant_id && o.kind == kind)
            .filter(|o| filter.network.as_ref().is_none_or(|n| &o.network == n))
            .filter(|o| !self.is_down(&o.network))
            .filter(|o| {
                filter
                    .status
                    .as_deref()
                    .is_none_or(|s| o.status.as_str() == s)
            })
            .filter(|o| filter.reference.as_deref().is_none_or(|r| o.reference == r))
            .filter(|o| {
                filter
                    .starting_after
                    .as_deref()
                    .is_none_or(|after| o.id.as_str() < after)
            })
            .collect();
        orders.sort_by(|a, b| b.id.cmp(&a.id));
        let has_more = orders.len() > limit;
        orders.truncate(limit);
        Ok((orders, has_more))
    }

    /// Cancels an open order.
    pub fn cancel(
        &mut self,
        merchant_id: &str,
        kind: OrderKind,
        id: &str,
        now: Timestamp,
    ) -> Result<Order, SimError> {
        let order = self.order(merchant_id, kind, id)?;
        let (status, now) = match order.test_clock {
            Some(_) => (order.status, self.order_now(order)),
            None => (order.status, now),
        };
        if !status.is_open() {
            return Err(SimError::NotCancelable {
                status: status.as_str(),
            });
        }
        let order = self
            .close_order(id, OrderStatus::Canceled, now)
            .ok_or(SimError::NotFound)?;
        self.enqueue_callback(&order, "canceled", None, now);
        Ok(order)
    }

    /// Moves an open order to a final status and drops it from the open indexes.
    pub(crate) fn close_order(
        &mut self,
        id: &str,
        status: OrderStatus,
        now: Timestamp,
    ) -> Option<Order> {
        let order = self.orders.get_mut(id)?;
        let clock = order.test_clock.as_deref();
        self.expiries.remove(clock, order.expires_at, &order.id);
        if let Some(at) = order.autopilot_at {
            self.visits.remove(clock, at, &order.id);
        }
        order.status = status;
        order.updated_at = now;
        match status {
            OrderStatus::Canceled => order.canceled_at = Some(now),
            OrderStatus::Expired => order.expired_at = Some(now),
            OrderStatus::Paid => order.paid_at = Some(now),
            OrderStatus::Pending | OrderStatus::Available | OrderStatus::Locked => {}
        }
        self.dirty.orders.insert(id.to_owned());
        Some(order.clone())
    }
}

/// An absolute http(s) URL without spaces or control characters, not too long.
fn valid_callback_url(url: &str) -> bool {
    url.len() <= CALLBACK_URL_BYTES_MAX
        && url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
            .is_some_and(|rest| !rest.is_empty())
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn parse_name(input: &str, param: &'static str) -> Result<String, SimError> {
    PersonName::parse(input)
        .map(|n| n.as_str().to_owned())
        .map_err(|e| SimError::InvalidRequest {
            param,
            message: e.to_string(),
        })
}

/// When a new code becomes payable: now, or the next activation window of a legacy network.
fn next_activation(profile: &NetworkProfile, now: Timestamp) -> Timestamp {
    if profile.activation_windows.is_empty() {
        return now;
    }
    let local = now.to_zoned_datetime(bogota());
    let mut windows = profile.activation_windows.clone();
    windows.sort();
    for day in 0..2i64 {
        let Ok(date) = local.date().checked_add(jiff::Span::new().days(day)) else {
            continue;
        };
        for window in &windows {
            if let Ok(at) = date.to_datetime(*window).to_zoned_datetime(bogota())
                && at.timestamp() > now
            {
                return at.timestamp();
            }
        }
    }
    now
}
