//! cajero-sim: a cash network (Efecty, SuRed, legacy Vía Baloto) as an independent HTTP
//! service, so cajero can be tried, tested and demonstrated without a contract with a real
//! network. cajero reaches it only over HTTP, exactly as it would reach a real one.
//!
//! - [`serve`] runs it on a listener until a shutdown signal; [`spawn`] starts one on a
//!   loopback port inside the caller's tokio runtime and returns a [`SimHandle`].
//! - [`cli::SimCommand`] and [`cli::run`] are the `cajero sim …` subcommands.
//! - The protocol (endpoints, signatures, callbacks) is described in the crate README.

#![forbid(unsafe_code)]

pub mod cli;
pub mod codes;
pub mod config;
pub mod counters;
pub mod dialect;
pub mod engine;
pub mod http;
pub mod model;
pub mod settlement;
pub mod signing;
pub mod sim;
pub mod store;
pub mod views;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use config::{Faults, MerchantConfig, NetworkProfile, SimConfig};
pub use sim::Sim;

/// Serves the simulator on `listener` until `shutdown` completes.
pub async fn serve_until(
    config: SimConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let sim = Sim::open(config).await?;
    serve_sim(sim, listener, shutdown).await
}

/// Serves the simulator on `listener` until Ctrl-C.
pub async fn serve(config: SimConfig, listener: TcpListener) -> anyhow::Result<()> {
    serve_until(config, listener, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}

async fn serve_sim(
    sim: Arc<Sim>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let ticker = tokio::spawn(Arc::clone(&sim).ticker(stop_rx.clone()));
    let worker = sim
        .config()
        .callbacks
        .worker
        .then(|| tokio::spawn(Arc::clone(&sim).delivery_worker(stop_rx)));
    let app = http::router(Arc::clone(&sim));
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    let _ = stop_tx.send(true);
    let _ = ticker.await;
    if let Some(worker) = worker {
        let _ = worker.await;
    }
    sim.close().await;
    result?;
    Ok(())
}

/// A simulator running inside the caller's runtime.
#[derive(Debug)]
pub struct SimHandle {
    addr: SocketAddr,
    sim: Arc<Sim>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl SimHandle {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The running simulator (in-process inspection; cajero itself must use HTTP).
    pub fn sim(&self) -> &Arc<Sim> {
        &self.sim
    }

    /// Stops serving and waits for the background work to end.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task).await?
    }
}

/// Starts a simulator on `127.0.0.1` on a free port in the current tokio runtime.
pub async fn spawn(config: SimConfig) -> anyhow::Result<SimHandle> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    spawn_on(config, listener).await
}

/// Starts a simulator on an already bound listener in the current tokio runtime.
pub async fn spawn_on(config: SimConfig, listener: TcpListener) -> anyhow::Result<SimHandle> {
    let addr = listener.local_addr()?;
    let sim = Sim::open(config).await?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(serve_sim(Arc::clone(&sim), listener, async {
        let _ = stopped.await;
    }));
    Ok(SimHandle {
        addr,
        sim,
        stop: Some(stop),
        task,
    })
}
