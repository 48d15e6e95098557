//! Restarts: with a database the network remembers everything and goes on; without one it
//! forgets, but never issues an id again (unless a seed was configured: then it replays).

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::common::*;

/// Ids and codes a run issued: orders, codes, attempts and callbacks.
#[derive(Debug, Default)]
struct Issued {
    ids: BTreeSet<String>,
    codes: BTreeSet<String>,
}

/// A voucher paid and a payout collected, each with its callback: every kind of id.
async fn one_of_each(sim: &TestSim, run: &str, issued: &mut Issued) -> (Value, Value) {
    let (url, _receiver) = receiver(0).await;
    sim.set_callback_url(MERCHANT, SECRET, &url).await;
    let v = sim.voucher(&format!("{run}-v"), 10_000).await;
    let p = sim.payout(&format!("{run}-p"), 10_000).await;
    let paid = sim
        .pay(REGULAR_COUNTER, v["payment_code"].as_str().unwrap(), 10_000)
        .await;
    let collected = sim
        .collect(
            REGULAR_COUNTER,
            p["pickup_code"].as_str().unwrap(),
            "79876543",
        )
        .await;
    assert_eq!(sim.flush(false).await, 2);
    for (order, attempt) in [(&v, &paid), (&p, &collected)] {
        let id = order["id"].as_str().unwrap();
        for new in [
            id.to_owned(),
            attempt["attempt"]["id"].as_str().unwrap().to_owned(),
            sim.callbacks_of(id).await[0]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        ] {
            assert!(issued.ids.insert(new.clone()), "{new} issued twice");
        }
    }
    issued
        .codes
        .insert(v["payment_code"].as_str().unwrap().to_owned());
    issued
        .codes
        .insert(p["pickup_code"].as_str().unwrap().to_owned());
    (v, p)
}

#[tokio::test]
async fn on_its_database_a_restarted_network_remembers_and_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config();
    config.seed = None;
    config.database_url = Some(format!("sqlite://{}", dir.path().join("sim.db").display()));
    config.faults.settlement_missing_line_bps = 5_000;
    let mut issued = Issued::default();
    let mut earlier = Vec::new();
    let mut file = None;
    for run in ["a", "b", "c"] {
        let sim = start_with(config.clone()).await;
        for (id, code) in &earlier {
            let r = sim
                .signed("GET", &format!("/v1/collections/{id}"), None)
                .await;
            assert_eq!(r.status, 200, "{id} is still known: {}", r.body);
            assert_eq!(
                (&r.body["payment_code"], &r.body["status"]),
                (code, &json!("paid"))
            );
        }
        let path = format!("/sim/v1/settlement_files/2026-11-25?merchant_id={MERCHANT}");
        let (_, before) = sim.text(&path).await;
        if let Some(previous) = &file {
            assert_eq!(&before, previous, "the same file after a restart");
        }
        let (v, _) = one_of_each(&sim, run, &mut issued).await;
        earlier.push((
            v["id"].as_str().unwrap().to_owned(),
            v["payment_code"].clone(),
        ));
        file = Some(sim.text(&path).await.1);
        sim.handle.shutdown().await.unwrap();
    }
    assert_eq!(issued.ids.len(), 3 * 6);
    assert_eq!(issued.codes.len(), 3 * 2, "no code issued twice");
}

#[tokio::test]
async fn in_memory_a_restarted_network_forgets_but_never_issues_an_id_again() {
    let mut config = test_config();
    config.seed = None;
    let mut issued = Issued::default();
    let mut first_order = None;
    for _ in 0..3 {
        let sim = start_with(config.clone()).await;
        // The same references every run: the network forgot them.
        let (v, _) = one_of_each(&sim, "same", &mut issued).await;
        let id = v["id"].as_str().unwrap().to_owned();
        if let Some(first) = &first_order {
            assert!(
                id > *first,
                "ids keep increasing across starts: {id} after {first}"
            );
        } else {
            first_order = Some(id);
        }
        sim.handle.shutdown().await.unwrap();
    }
    assert_eq!(issued.ids.len(), 3 * 6);
    assert_eq!(issued.codes.len(), 3 * 2);
}

#[tokio::test]
async fn with_a_seed_an_in_memory_network_replays_ids_and_codes() {
    let mut runs = Vec::new();
    for _ in 0..2 {
        let sim = start().await;
        let mut issued = Issued::default();
        one_of_each(&sim, "replay", &mut issued).await;
        runs.push((issued.ids, issued.codes));
        sim.handle.shutdown().await.unwrap();
    }
    assert_eq!(runs[0], runs[1]);
}
