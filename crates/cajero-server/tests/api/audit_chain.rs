//! The audit log's SHA-256 chain, on both engines: sealed entries verify; an entry edited in
//! place, one removed and one slipped in are each caught and named; entries written after a
//! seal extend the chain.

use cajero_server::audit_chain::{self, GENESIS};
use cajero_server::operators::{Acting, Reason};
use cajero_store::{Conn, StoreError, execute};

use crate::helpers::TestApp;

crate::both_engines!(the_audit_chain_verifies_and_names_the_first_entry_tampered_with);

async fn write_entries(app: &TestApp, n: usize, what: &str) {
    let state = &app.server.state;
    for i in 0..n {
        let acting = Acting::cli(Reason::parse(&format!("{what} {i}")).unwrap());
        let row = cajero_server::operators::audit_row(
            state.clock.as_ref(),
            &acting,
            "fx.rate_set",
            None,
            Some(format!("2026-12-0{} 4000", i % 9 + 1)),
        );
        state
            .store
            .write(move |mut c| {
                Box::pin(async move {
                    cajero_store::operators::insert_audit(&mut c, &row, Some(&format!("why {i}")))
                        .await
                })
            })
            .await
            .unwrap();
    }
}

async fn sql(app: &TestApp, statement: &'static str) {
    app.server
        .state
        .store
        .write(move |mut c: Conn<'_>| {
            Box::pin(async move {
                execute!(&mut c, statement)?;
                Ok::<_, StoreError>(())
            })
        })
        .await
        .unwrap();
}

async fn the_audit_chain_verifies_and_names_the_first_entry_tampered_with(app: &TestApp) {
    let store = &app.server.state.store;
    write_entries(app, 7, "first").await;
    // Everything is sealed, in batches that continue one another.
    while audit_chain::seal_pending(store).await.unwrap() > 0 {}
    let clean = audit_chain::verify(store).await.unwrap();
    assert_eq!(clean.broken, None, "{clean:?}");
    assert!(clean.sealed >= 7, "{clean:?}");
    assert_eq!(clean.unsealed, 0);
    let (head_seq, head_hash) = clean.head.clone().unwrap();
    assert_eq!(head_seq, clean.sealed);
    assert_ne!(head_hash, GENESIS);

    // Later entries extend the chain from its head.
    write_entries(app, 3, "second").await;
    // (The server's own worker may seal some of them first: the chain is the same.)
    let pending = audit_chain::verify(store).await.unwrap();
    assert!(pending.unsealed <= 3, "{pending:?}");
    assert_eq!(pending.broken, None);
    while audit_chain::seal_pending(store).await.unwrap() > 0 {}
    let extended = audit_chain::verify(store).await.unwrap();
    assert_eq!(extended.sealed, head_seq + 3);
    assert_eq!(extended.unsealed, 0);
    assert_eq!(extended.broken, None);

    // An entry's reason edited in place: caught at that entry.
    sql(
        app,
        "UPDATE audit_log SET reason = 'nothing to see' WHERE seq = 3",
    )
    .await;
    let edited = audit_chain::verify(store).await.unwrap();
    let broken = edited.broken.unwrap();
    assert_eq!(broken.seq, 3);
    assert!(broken.id.is_some());
    assert!(broken.why.contains("changed"), "{}", broken.why);
    assert_eq!(edited.sealed, 2, "checked up to the break");
    // Its hash recomputed too: the next entry's link no longer holds.
    sql(app, "UPDATE audit_log SET hash = 'f00d' WHERE seq = 3").await;
    let rehashed = audit_chain::verify(store).await.unwrap().broken.unwrap();
    assert_eq!(rehashed.seq, 3);

    // Removed: the gap is named.
    sql(app, "DELETE FROM audit_log WHERE seq = 2").await;
    let removed = audit_chain::verify(store).await.unwrap().broken.unwrap();
    assert_eq!(removed.seq, 2);
    assert_eq!(removed.id, None);
    assert!(removed.why.contains("missing"), "{}", removed.why);

    // Slipped in: an entry given the first place is caught there.
    sql(app, "DELETE FROM audit_log WHERE seq = 1").await;
    sql(
        app,
        "INSERT INTO audit_log (id, actor, action, at, seq, prev_hash, hash) VALUES \
         ('aud_0000000000000000000000000', 'x', 'forged', 1, 1, \
         '0000000000000000000000000000000000000000000000000000000000000000', 'abc')",
    )
    .await;
    let forged = audit_chain::verify(store).await.unwrap().broken.unwrap();
    assert_eq!(forged.seq, 1);
    assert_eq!(forged.id.as_deref(), Some("aud_0000000000000000000000000"));
}
