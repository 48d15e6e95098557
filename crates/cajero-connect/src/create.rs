//! Creating an order at a network with timeout safety: an order is never created twice.
//!
//! A create that times out may or may not have reached the network. [`create_once`] then asks
//! the network by our reference (a few bounded attempts with a short backoff) and returns the
//! order if the network has it. Only when the network says it does not know the reference is
//! the create sent again — once, with the same reference, so the network would deduplicate it
//! anyway. If the answer is still unknown, the result is [`ConnectError::Timeout`] and the
//! caller leaves the order to the poller, which queries by reference later.

use std::time::Duration;

use cajero_domain::money::Amount;

use crate::{
    BoxFuture, ConnectError, Connector, CreatePickup, CreateVoucher, Exchange, NetworkOrder,
    OrderKind,
};

/// Queries by reference after a timed-out create before giving up on knowing.
pub const FIND_ATTEMPTS_MAX: u32 = 3;
/// Pause before the second query; doubles before each further one.
pub const FIND_BACKOFF_MS_BASE: u64 = 200;

/// A create request of either kind: what [`create_once`] needs to send it and to look it up.
pub trait NewOrder: Sync {
    /// Voucher or pick-up.
    fn kind(&self) -> OrderKind;
    /// Our reference, the network's deduplication key.
    fn reference(&self) -> &str;
    /// The amount asked for, checked against an order found by reference.
    fn amount(&self) -> Amount;
    /// Sends the create through `connector`.
    fn send<'c>(&self, connector: &'c dyn Connector) -> BoxFuture<'c, Exchange<NetworkOrder>>;
}

impl NewOrder for CreateVoucher {
    fn amount(&self) -> Amount {
        self.amount
    }
    fn kind(&self) -> OrderKind {
        OrderKind::Collection
    }
    fn reference(&self) -> &str {
        &self.reference
    }
    fn send<'c>(&self, connector: &'c dyn Connector) -> BoxFuture<'c, Exchange<NetworkOrder>> {
        connector.create_voucher(self)
    }
}

impl NewOrder for CreatePickup {
    fn amount(&self) -> Amount {
        self.amount
    }
    fn kind(&self) -> OrderKind {
        OrderKind::Payout
    }
    fn reference(&self) -> &str {
        &self.reference
    }
    fn send<'c>(&self, connector: &'c dyn Connector) -> BoxFuture<'c, Exchange<NetworkOrder>> {
        connector.create_pickup(self)
    }
}

/// Creates `request` at the network at most twice, and the second time only when the network
/// has said it does not have the first. The evidence of every exchange made is returned.
pub async fn create_once<R: NewOrder + ?Sized>(
    connector: &dyn Connector,
    request: &R,
) -> Exchange<NetworkOrder> {
    let mut evidence = Vec::new();
    let first = request.send(connector).await;
    evidence.extend(first.evidence);
    if first.result != Err(ConnectError::Timeout) {
        return Exchange::new(first.result, evidence);
    }
    let mut backoff = Duration::from_millis(FIND_BACKOFF_MS_BASE);
    for attempt in 0..FIND_ATTEMPTS_MAX {
        if attempt > 0 {
            tokio::time::sleep(backoff).await;
            backoff = backoff.saturating_mul(2);
        }
        let found = connector
            .find_by_reference(request.kind(), request.reference())
            .await;
        evidence.extend(found.evidence);
        match found.result {
            Ok(order) => return Exchange::new(matching(request, order), evidence),
            Err(ConnectError::NotFound) => {
                // The network does not have it: the first create never arrived. One more,
                // whatever it answers; a second timeout stays unknown for the poller.
                let second = request.send(connector).await;
                evidence.extend(second.evidence);
                return Exchange::new(second.result, evidence);
            }
            Err(error) => {
                tracing::warn!(
                    reference = request.reference(),
                    attempt,
                    %error,
                    "query by reference after a timed-out create failed"
                );
            }
        }
    }
    Exchange::new(Err(ConnectError::Timeout), evidence)
}

/// The order found under our reference, unless it was made with another amount (then it is
/// not ours to report as created: the same conflict the network answers to a create).
fn matching<R: NewOrder + ?Sized>(
    request: &R,
    order: NetworkOrder,
) -> Result<NetworkOrder, ConnectError> {
    if order.amount == request.amount() {
        return Ok(order);
    }
    Err(ConnectError::Rejected {
        code: "reference_conflict".into(),
        message: format!(
            "the network holds {} {} for {} (asked {})",
            order.network_order_id,
            order.amount,
            request.reference(),
            request.amount()
        ),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::sync::Mutex;

    use cajero_domain::money::Amount;
    use jiff::Timestamp;

    use super::*;
    use crate::{Callback, CallbackError, DocumentRef, NetworkStatus};

    /// A network that answers creates and finds from scripts and counts the calls.
    #[derive(Debug, Default)]
    struct Scripted {
        creates: Mutex<Vec<Result<NetworkOrder, ConnectError>>>,
        finds: Mutex<Vec<Result<NetworkOrder, ConnectError>>>,
        create_calls: Mutex<u32>,
        find_calls: Mutex<u32>,
    }

    fn order() -> NetworkOrder {
        NetworkOrder {
            kind: OrderKind::Payout,
            network_order_id: "giro_1".into(),
            reference: "po_1".into(),
            network: "efecty".into(),
            status: NetworkStatus::Available,
            amount: Amount::new(200_000).unwrap(),
            code: "5821093744".into(),
            agreement_code: None,
            barcode_data: None,
            expires_at: Timestamp::UNIX_EPOCH,
            paid_at: None,
            paid_counter_id: None,
        }
    }

    fn pickup() -> CreatePickup {
        CreatePickup {
            network: "efecty".into(),
            reference: "po_1".into(),
            amount: Amount::new(200_000).unwrap(),
            beneficiary_name: "Luis Pérez".into(),
            beneficiary_document: DocumentRef {
                kind: "CC".into(),
                number: "79876543".into(),
            },
            expires_in_seconds: 3_600,
            test_clock: None,
        }
    }

    fn next(
        script: &Mutex<Vec<Result<NetworkOrder, ConnectError>>>,
        calls: &Mutex<u32>,
    ) -> Exchange<NetworkOrder> {
        *calls.lock().unwrap() += 1;
        let mut script = script.lock().unwrap();
        let result = if script.is_empty() {
            Err(ConnectError::Protocol("script exhausted".into()))
        } else {
            script.remove(0)
        };
        Exchange {
            result,
            evidence: Vec::new(),
        }
    }

    impl Connector for Scripted {
        fn networks(&self) -> Vec<String> {
            vec!["efecty".into()]
        }
        fn create_voucher(&self, _: &CreateVoucher) -> BoxFuture<'_, Exchange<NetworkOrder>> {
            Box::pin(async move { next(&self.creates, &self.create_calls) })
        }
        fn create_pickup(&self, _: &CreatePickup) -> BoxFuture<'_, Exchange<NetworkOrder>> {
            Box::pin(async move { next(&self.creates, &self.create_calls) })
        }
        fn find_by_reference(
            &self,
            _: OrderKind,
            _: &str,
        ) -> BoxFuture<'_, Exchange<NetworkOrder>> {
            Box::pin(async move { next(&self.finds, &self.find_calls) })
        }
        fn get(&self, _: OrderKind, _: &str) -> BoxFuture<'_, Exchange<NetworkOrder>> {
            Box::pin(async move { next(&Mutex::default(), &Mutex::default()) })
        }
        fn cancel(&self, _: OrderKind, _: &str) -> BoxFuture<'_, Exchange<NetworkOrder>> {
            Box::pin(async move { next(&Mutex::default(), &Mutex::default()) })
        }
        fn verify_callback(
            &self,
            _: &[(String, String)],
            _: &[u8],
            _: Timestamp,
        ) -> Result<Callback, CallbackError> {
            Err(CallbackError::BadSignature)
        }
        fn settlement_file(&self, _: &str, _: &str, _: &str) -> BoxFuture<'_, Exchange<Vec<u8>>> {
            Box::pin(async move {
                Exchange {
                    result: Ok(Vec::new()),
                    evidence: Vec::new(),
                }
            })
        }
    }

    fn scripted(
        creates: Vec<Result<NetworkOrder, ConnectError>>,
        finds: Vec<Result<NetworkOrder, ConnectError>>,
    ) -> Scripted {
        Scripted {
            creates: Mutex::new(creates),
            finds: Mutex::new(finds),
            ..Scripted::default()
        }
    }

    async fn run(network: &Scripted) -> (Result<NetworkOrder, ConnectError>, u32, u32) {
        let got = create_once(network, &pickup()).await;
        let creates = *network.create_calls.lock().unwrap();
        let finds = *network.find_calls.lock().unwrap();
        (got.result, creates, finds)
    }

    use ConnectError::{NotFound, Timeout, Unavailable};

    #[tokio::test(start_paused = true)]
    async fn create_once_sends_at_most_two_creates_and_the_second_only_after_not_found() {
        let rejected = ConnectError::Rejected {
            code: "beneficiary_rejected".into(),
            message: "no".into(),
        };
        let down = || Unavailable("down".into());
        // (creates, finds) scripted → (result, creates sent, finds sent)
        let cases = vec![
            (vec![Ok(order())], vec![], Ok(order()), 1, 0),
            (vec![Err(rejected.clone())], vec![], Err(rejected), 1, 0),
            (vec![Err(down())], vec![], Err(down()), 1, 0),
            (vec![Err(Timeout)], vec![Ok(order())], Ok(order()), 1, 1),
            (
                vec![Err(Timeout)],
                vec![Err(Timeout), Err(down()), Ok(order())],
                Ok(order()),
                1,
                3,
            ),
            (
                vec![Err(Timeout), Ok(order())],
                vec![Err(NotFound)],
                Ok(order()),
                2,
                1,
            ),
            (
                vec![Err(Timeout), Err(Timeout), Ok(order())],
                vec![Err(NotFound), Err(NotFound)],
                Err(Timeout),
                2,
                1,
            ),
            (
                vec![Err(Timeout)],
                vec![Err(Timeout), Err(Timeout), Err(Timeout), Ok(order())],
                Err(Timeout),
                1,
                FIND_ATTEMPTS_MAX,
            ),
        ];
        let other_amount = NetworkOrder {
            amount: Amount::new(1_000).unwrap(),
            ..order()
        };
        let conflict = |r: &Result<NetworkOrder, ConnectError>| matches!(r, Err(ConnectError::Rejected { code, .. }) if code == "reference_conflict");
        let network = scripted(vec![Err(Timeout)], vec![Ok(other_amount)]);
        let (got, creates, finds) = run(&network).await;
        assert!(conflict(&got), "{got:?}");
        assert_eq!((creates, finds), (1, 1));
        for (i, (creates, finds, expected, creates_sent, finds_sent)) in
            cases.into_iter().enumerate()
        {
            let network = scripted(creates, finds);
            let (got, creates, finds) = run(&network).await;
            assert_eq!(got, expected, "case {i}");
            assert_eq!((creates, finds), (creates_sent, finds_sent), "case {i}");
        }
    }
}
