//! A network taken down at the simulator (`faults.down`) is `ConnectError::Unavailable` in
//! every dialect the simulator speaks — its own, dLocal's, PayU's and Kushki's — and nothing is
//! created there, so routing may safely try another network.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
#[path = "support/dlocal.rs"]
mod dlocal_support;
#[allow(dead_code)]
#[path = "support/kushki.rs"]
mod kushki_support;
#[allow(dead_code)]
#[path = "support/payu.rs"]
mod payu_support;
#[allow(dead_code)]
mod support;

use cajero_connect::payu::SignatureAlgorithm;
use cajero_connect::{
    ConnectError, Connector, CreateVoucher, Exchange, NetworkOrder, OrderKind, create_once,
};
use cajero_sim::config::Faults;
use support::{count_orders, voucher};

fn down(network: &str) -> Faults {
    Faults {
        down: vec![network.into()],
        ..Faults::default()
    }
}

fn at(network: &str, reference: &str) -> CreateVoucher {
    CreateVoucher {
        network: network.into(),
        ..voucher(reference, 40_000)
    }
}

/// The create was refused as unavailable, after one answer of the network (no retry, no
/// lookup: nothing was created).
fn assert_unavailable(got: &Exchange<NetworkOrder>, dialect: &str) {
    assert!(
        matches!(got.result, Err(ConnectError::Unavailable(_))),
        "{dialect}: {:?}",
        got.result
    );
    let last = got.evidence.last().unwrap();
    assert!(
        last.response_status.is_some_and(|s| s >= 500),
        "{dialect}: {last:?}"
    );
}

async fn orders_under(sim: &cajero_sim::SimHandle, reference: &str) -> usize {
    let reference = reference.to_owned();
    count_orders(sim, move |o| o.reference == reference).await
}

#[tokio::test]
async fn a_network_taken_down_is_unavailable_in_every_dialect_and_nothing_is_created() {
    // The simulator's own API: SuRed down, Efecty up.
    let f = support::start_with(down("sured"), 5_000).await;
    let got = create_once(&f.connector, &at("sured", "pi_down_sim")).await;
    assert_unavailable(&got, "sim");
    assert_eq!(got.evidence[0].response_status, Some(503));
    assert_eq!(orders_under(&f.sim, "pi_down_sim").await, 0);
    let efecty = f.connector.create_voucher(&at("efecty", "pi_up_sim")).await;
    assert!(efecty.result.is_ok(), "{:?}", efecty.result);

    // dLocal's tickets are Efecty's.
    let d = dlocal_support::start_with(down("efecty"), 5_000).await;
    let got = create_once(&d.connector, &voucher("pi_down_dlocal", 40_000)).await;
    assert_unavailable(&got, "dLocal");
    assert_eq!(d.orders_with_reference("pi_down_dlocal").await, 0);

    // PayU: OTHERS_CASH is SuRed.
    let p = payu_support::start_payu(down("sured"), 5_000, SignatureAlgorithm::Md5).await;
    let got = create_once(&p.connector, &at("sured", "pi_down_payu")).await;
    assert_unavailable(&got, "PayU");
    assert_eq!(p.orders_under("pi_down_payu").await, 0);

    // Kushki's cash-in at Efecty.
    let k = kushki_support::start(down("efecty"), 5_000, true).await;
    let got = create_once(&k.connector, &voucher("pi_down_kushki", 40_000)).await;
    assert_unavailable(&got, "Kushki");
    assert_eq!(
        k.orders_with_reference(OrderKind::Collection, "pi_down_kushki")
            .await,
        0
    );
}
