//! The dashboard in a real headless Chromium, driven over WebDriver (fantoccini against
//! Debian's `chromium-driver`), with the simulator's cashier page (`/ventanilla`) as the
//! counter: sign-up → two-factor → a key → a pay-in paid at the counter and seen paid with its
//! evidence and chart; a payout refused for a wrong document, then collected; the language
//! switch.
//!
//! `.ci/run` installs `chromium` and `chromium-driver`. Without `chromedriver` on the PATH the
//! tests say they skipped. A failing flow leaves a screenshot and the page's HTML in
//! `target/tmp/browser/` (the test prints where).

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context as _, bail};
use fantoccini::{Client, ClientBuilder, Locator};
use jiff::SignedDuration;
use serde_json::{Value, json};

use crate::helpers::{Engine, TestApp, spawn_app};

/// How long a page may take to show what a flow waits for (a callback from the simulator).
const WAIT: Duration = Duration::from_secs(15);
const PASSWORD: &str = "correct horse battery staple";

/// A chromedriver on a free loopback port, stopped on drop.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn driver() -> Option<Driver> {
    let binary = ["chromedriver", "/usr/bin/chromedriver"]
        .into_iter()
        .find(|b| Command::new(b).arg("--version").output().is_ok())?;
    let port = TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let child = Command::new(binary)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let http = reqwest::Client::new();
    for _ in 0..100 {
        if let Ok(r) = http.get(format!("{}/status", driver.url)).send().await
            && r.status().is_success()
        {
            return Some(driver);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

async fn browser(driver: &Driver) -> anyhow::Result<Client> {
    let mut caps = serde_json::Map::new();
    let mut args = vec![
        "--headless=new",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,1000",
        "--lang=en-US",
    ];
    // Root (CI's containers) cannot use Chromium's sandbox.
    if std::env::var("USER").is_ok_and(|u| u == "root") || is_root() {
        args.push("--no-sandbox");
    }
    let mut options = json!({ "args": args });
    if std::path::Path::new("/usr/bin/chromium").exists() {
        options["binary"] = json!("/usr/bin/chromium");
    }
    caps.insert("goog:chromeOptions".into(), options);
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .context("starting Chromium through chromedriver")
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find(|l| l.starts_with("Uid:"))
            .is_some_and(|l| l.split_whitespace().nth(1) == Some("0"))
    })
}

/// Runs `flow` in a browser against a fresh app; on failure, saves a screenshot and the page.
async fn in_browser<F>(name: &str, flow: F)
where
    F: for<'a> AsyncFnOnce(&'a TestApp, &'a Client) -> anyhow::Result<()>,
{
    let Some(driver) = driver().await else {
        eprintln!("skipped: chromedriver not found (.ci/run installs chromium-driver)");
        return;
    };
    let app = spawn_app(Engine::Sqlite).await.unwrap();
    let client = browser(&driver).await.unwrap();
    let result = flow(&app, &client).await;
    if let Err(error) = &result {
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
        let _ = std::fs::create_dir_all(&dir);
        if let Ok(png) = client.screenshot().await {
            let _ = std::fs::write(dir.join(format!("{name}.png")), png);
        }
        if let Ok(html) = client.source().await {
            let _ = std::fs::write(dir.join(format!("{name}.html")), html);
        }
        eprintln!("{name} failed: {error:#}; screenshot in {}", dir.display());
    }
    let _ = client.close().await;
    app.server.stop().await.unwrap();
    if let Err(error) = result {
        panic!("{name}: {error:#}");
    }
}

async fn fill(client: &Client, css: &str, text: &str) -> anyhow::Result<()> {
    let field = client
        .find(Locator::Css(css))
        .await
        .with_context(|| css.to_owned())?;
    field.clear().await?;
    field.send_keys(text).await?;
    Ok(())
}

async fn click(client: &Client, css: &str) -> anyhow::Result<()> {
    client
        .find(Locator::Css(css))
        .await
        .with_context(|| css.to_owned())?
        .click()
        .await?;
    Ok(())
}

async fn text_of(client: &Client, css: &str) -> anyhow::Result<String> {
    Ok(client
        .find(Locator::Css(css))
        .await
        .with_context(|| css.to_owned())?
        .text()
        .await?)
}

/// Waits until the current page contains `wanted` (a click that submits a form does not wait
/// for the next page); the page.
async fn shows(client: &Client, wanted: &str) -> anyhow::Result<String> {
    let started = std::time::Instant::now();
    loop {
        let html = client.source().await?;
        if html.contains(wanted) {
            return Ok(html);
        }
        if started.elapsed() > WAIT {
            bail!("the page never showed {wanted:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the browser is at `path`.
async fn at(client: &Client, path: &str) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    loop {
        if client.current_url().await?.path() == path {
            return Ok(());
        }
        if started.elapsed() > WAIT {
            bail!(
                "the browser never reached {path} (at {})",
                client.current_url().await?
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Reloads `url` until its page contains `wanted` (a callback arrives on its own time).
async fn wait_for(client: &Client, url: &str, wanted: &str) -> anyhow::Result<String> {
    let started = std::time::Instant::now();
    loop {
        client.goto(url).await?;
        let html = client.source().await?;
        if html.contains(wanted) {
            return Ok(html);
        }
        if started.elapsed() > WAIT {
            bail!("{url} never showed {wanted:?}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn totp_code(app: &TestApp, secret: &str) -> anyhow::Result<String> {
    let bytes = totp_rs::Secret::try_from_base32(secret).context("the page's secret")?;
    let totp = totp_rs::Builder::new()
        .with_secret(bytes.as_ref().to_vec())
        .build()?;
    let now = cajero_server::clock::Clock::now(app.server.state.clock.as_ref());
    Ok(totp
        .generate(u64::try_from(now.as_second()).unwrap_or(0))
        .to_string())
}

/// Signs up, turns two-factor on, signs out and in again with a code; the TOTP secret.
async fn sign_up_with_two_factor(
    app: &TestApp,
    client: &Client,
    email: &str,
) -> anyhow::Result<String> {
    client.goto(&app.url("/dashboard/signup")).await?;
    fill(client, "#company", "Tienda Ana SAS").await?;
    fill(client, "#name", "Ana Gómez").await?;
    fill(client, "#email", email).await?;
    fill(client, "#password", PASSWORD).await?;
    click(
        client,
        "form[action='/dashboard/signup'] button[type=submit]",
    )
    .await?;
    shows(client, "data-figure=\"available\"").await?;

    client.goto(&app.url("/dashboard/security")).await?;
    click(client, "form[action='/dashboard/security/totp'] button").await?;
    shows(client, "data-totp-secret").await?;
    let secret = text_of(client, "code[data-totp-secret]").await?;
    anyhow::ensure!(
        client.find(Locator::Css(".qr svg")).await.is_ok(),
        "no QR code"
    );
    fill(client, "#code", &totp_code(app, &secret)?).await?;
    click(
        client,
        "form[action='/dashboard/security/totp/confirm'] button",
    )
    .await?;
    shows(client, "data-two-factor=\"on\"").await?;
    app.clock.advance(SignedDuration::from_secs(30));

    click(client, "form[action='/dashboard/logout'] button").await?;
    at(client, "/dashboard/login").await?;
    fill(client, "#email", email).await?;
    fill(client, "#password", PASSWORD).await?;
    click(client, "form[action='/dashboard/login'] button").await?;
    // The password alone leads to the code's page, not in.
    at(client, "/dashboard/login/totp").await?;
    fill(client, "#code", &totp_code(app, &secret)?).await?;
    click(client, "form[action='/dashboard/login/totp'] button").await?;
    at(client, "/dashboard").await?;
    Ok(secret)
}

/// Creates a test key on the keys page; its secret, as shown once.
async fn create_key(app: &TestApp, client: &Client) -> anyhow::Result<String> {
    client.goto(&app.url("/dashboard/keys")).await?;
    click(client, "form[action='/dashboard/keys'] button").await?;
    shows(client, "data-secret").await?;
    let key = client
        .find(Locator::Css("#new-key"))
        .await?
        .prop("value")
        .await?
        .context("the new key's value")?;
    anyhow::ensure!(key.starts_with("sk_test_"), "{key}");
    client.goto(&app.url("/dashboard/keys")).await?;
    anyhow::ensure!(
        !client.source().await?.contains(&key),
        "the key was shown twice"
    );
    Ok(key)
}

async fn api(
    app: &TestApp,
    key: &str,
    path: &str,
    idem: &str,
    body: Value,
) -> anyhow::Result<Value> {
    let response = app
        .http
        .post(app.url(path))
        .bearer_auth(key)
        .header("idempotency-key", idem)
        .json(&body)
        .send()
        .await?;
    anyhow::ensure!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    Ok(response.json().await?)
}

async fn api_get(app: &TestApp, key: &str, path: &str) -> anyhow::Result<Value> {
    Ok(app.get_with_key(path, key).await.json().await?)
}

fn simulator(app: &TestApp) -> anyhow::Result<String> {
    app.server
        .state
        .networks
        .simulator_url()
        .context("the embedded simulator")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payin_is_paid_at_the_counter_and_seen_paid_in_the_dashboard() {
    in_browser("payin_paid", async |app: &TestApp, client: &Client| {
        sign_up_with_two_factor(app, client, "ana@example.co").await?;
        let key = create_key(app, client).await?;
        let payin = api(
            app,
            &key,
            "/v1/payins",
            "b1",
            json!({"amount": 150_000, "currency": "COP", "network": "efecty",
                "reference": "ORD-1", "customer": {"name": "Luis Pérez",
                "document": {"type": "CC", "number": "1020304050"}}}),
        )
        .await?;
        let id = payin["id"].as_str().context("id")?.to_owned();
        let code: String = payin["voucher"]["payment_code"]
            .as_str()
            .context("code")?
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();

        // At the counter.
        client
            .goto(&format!("{}/ventanilla", simulator(app)?))
            .await?;
        fill(client, "#pagar-codigo", &code).await?;
        fill(client, "#pagar-valor", "150000").await?;
        click(client, "form[action='/ventanilla/pagar'] button").await?;
        shows(client, "Operación aprobada.").await?;

        // Paid in the dashboard, with the callback among the network's messages.
        let page = wait_for(
            client,
            &app.url(&format!("/dashboard/payins/{id}")),
            "status paid",
        )
        .await?;
        anyhow::ensure!(page.contains("<details class=\"evidence\">"), "no evidence");
        anyhow::ensure!(page.contains("payin"), "no ledger entry");
        anyhow::ensure!(page.contains("payin.paid"), "no payin.paid on the timeline");
        client.goto(&app.url("/dashboard/analytics")).await?;
        let charts = client.source().await?;
        anyhow::ensure!(
            charts.contains("1 · COP 150,000"),
            "the funnel did not count it"
        );

        // Refund part of it from its page: the refund joins the page and its timeline.
        client
            .goto(&app.url(&format!("/dashboard/payins/{id}")))
            .await?;
        fill(client, "#refund-amount", "40000").await?;
        fill(client, "#refund-reason", "Devolución parcial").await?;
        click(client, "input[name='confirm']").await?;
        click(client, "form[action$='/refund'] button").await?;
        let refunded = shows(client, "Refund created.").await?;
        anyhow::ensure!(refunded.contains("refund.created"), "no refund.created");
        let after = api_get(app, &key, &format!("/v1/payins/{id}")).await?;
        anyhow::ensure!(
            after["amount_refunded"] == 40_000,
            "amount_refunded: {after}"
        );
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payout_refused_for_a_wrong_document_is_then_collected() {
    in_browser(
        "payout_collected",
        async |app: &TestApp, client: &Client| {
            sign_up_with_two_factor(app, client, "remesas@example.co").await?;
            let key = create_key(app, client).await?;
            api(
                app,
                &key,
                "/v1/topups",
                "t1",
                json!({"amount": 1_000_000, "currency": "COP"}),
            )
            .await?;
            let payout = api(
                app,
                &key,
                "/v1/payouts",
                "p1",
                json!({"amount": 200_000, "currency": "COP", "network": "efecty",
                "reference": "GIRO-1", "beneficiary": {"name": "Luis Pérez",
                "document": {"type": "CC", "number": "79876543"}}}),
            )
            .await?;
            let id = payout["id"].as_str().context("id")?.to_owned();
            let code: String = payout["pickup"]["code"]
                .as_str()
                .context("pick-up code")?
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();

            let counter = format!("{}/ventanilla", simulator(app)?);
            client.goto(&counter).await?;
            fill(client, "#retirar-codigo", &code).await?;
            fill(client, "#retirar-documento", "12345678").await?;
            click(client, "form[action='/ventanilla/retirar'] button").await?;
            shows(client, "El documento no corresponde").await?;
            client.goto(&counter).await?;
            fill(client, "#retirar-codigo", &code).await?;
            fill(client, "#retirar-documento", "79876543").await?;
            click(client, "form[action='/ventanilla/retirar'] button").await?;
            shows(client, "Operación aprobada.").await?;

            let page = wait_for(
                client,
                &app.url(&format!("/dashboard/payouts/{id}")),
                "status paid",
            )
            .await?;
            anyhow::ensure!(
                page.contains("document_mismatch"),
                "the refused attempt is missing"
            );
            anyhow::ensure!(page.contains("Luis Pérez"), "the beneficiary is missing");
            Ok(())
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_language_switch_changes_every_page() {
    in_browser("language", async |app: &TestApp, client: &Client| {
        client.goto(&app.url("/dashboard/signup")).await?;
        fill(client, "#company", "Tienda").await?;
        fill(client, "#name", "Ana").await?;
        fill(client, "#email", "ana@example.co").await?;
        fill(client, "#password", PASSWORD).await?;
        click(
            client,
            "form[action='/dashboard/signup'] button[type=submit]",
        )
        .await?;
        shows(client, "data-figure=\"available\"").await?;
        client
            .find(Locator::Css("#lang"))
            .await?
            .select_by_value("zh-CN")
            .await?;
        click(client, "form[action='/dashboard/language'] button").await?;
        shows(client, "lang=\"zh-CN\"").await?;
        anyhow::ensure!(client.source().await?.contains("可用"), "not in Chinese");
        client.goto(&app.url("/dashboard/payins")).await?;
        anyhow::ensure!(
            client.source().await?.contains("现金收款"),
            "the next page is not in Chinese"
        );
        client
            .find(Locator::Css("#lang"))
            .await?
            .select_by_value("es-CO")
            .await?;
        click(client, "form[action='/dashboard/language'] button").await?;
        shows(client, "Recaudos").await?;
        Ok(())
    })
    .await;
}

/// Picks a language from the navigation bar's switch.
async fn switch_language(client: &Client, tag: &str, shown: &str) -> anyhow::Result<()> {
    client
        .find(Locator::Css("#lang"))
        .await?
        .select_by_value(tag)
        .await?;
    click(client, "form[action='/dashboard/language'] button").await?;
    shows(client, shown).await?;
    Ok(())
}

/// Uploads a document of `kind` on the onboarding page (dated with the newest day the form
/// allows when it asks for a date).
async fn upload(client: &Client, kind: &str, path: &std::path::Path) -> anyhow::Result<()> {
    let form = format!("form[data-upload='{kind}']");
    if let Ok(date) = client.find(Locator::Css(&format!("#issued-{kind}"))).await {
        let newest = date.attr("max").await?.context("the date's max")?;
        client
            .execute(
                "document.getElementById(arguments[0]).value = arguments[1];",
                vec![json!(format!("issued-{kind}")), json!(newest)],
            )
            .await?;
    }
    client
        .find(Locator::Css(&format!("#file-{kind}")))
        .await?
        .send_keys(&path.display().to_string())
        .await?;
    click(client, &format!("{form} button")).await?;
    shows(
        client,
        path.file_name().and_then(|n| n.to_str()).unwrap_or(""),
    )
    .await?;
    Ok(())
}

/// The operator's console: signs in, sets up two-factor, lands on the overview.
async fn operator_signs_in(app: &TestApp, client: &Client, email: &str) -> anyhow::Result<()> {
    let state = &app.server.state;
    cajero_server::operators::add(&state.store, state.clock.as_ref(), email, "Luis", PASSWORD)
        .await?;
    client.goto(&app.url("/console/login")).await?;
    fill(client, "#email", email).await?;
    fill(client, "#password", PASSWORD).await?;
    click(client, "form[action='/console/login'] button").await?;
    at(client, "/console/totp").await?;
    let secret = text_of(client, "#totp-secret").await?;
    fill(client, "#code", &totp_code(app, &secret)?).await?;
    click(client, "form[action='/console/totp'] button").await?;
    at(client, "/console").await?;
    app.clock.advance(SignedDuration::from_secs(30));
    Ok(())
}

/// Submits the merchant page's KYC form whose hidden `action` is `step`, with `reason`.
async fn kyc_step(
    app: &TestApp,
    client: &Client,
    merchant: &str,
    step: &str,
    reason: &str,
) -> anyhow::Result<()> {
    let form =
        format!("form[action='/console/merchants/{merchant}/kyc']:has(input[value='{step}'])");
    fill(client, &format!("{form} textarea[name=reason]"), reason).await?;
    click(client, &format!("{form} button")).await?;
    shows(client, "Done").await?;
    client
        .goto(&app.url(&format!("/console/merchants/{merchant}")))
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merchant_onboards_in_spanish_and_chinese_and_an_operator_reviews_in_english() {
    in_browser("kyc_review", async |app: &TestApp, client: &Client| {
        let files = tempfile::tempdir()?;
        let write = |name: &str, bytes: &[u8]| -> anyhow::Result<std::path::PathBuf> {
            let path = files.path().join(name);
            std::fs::write(&path, bytes)?;
            Ok(path)
        };
        let rut = write("rut-tienda.pdf", b"%PDF-1.4\n% RUT\n")?;
        let chamber = write("camara-comercio.pdf", b"%PDF-1.7\n% Camara\n")?;
        let id = write(
            "cedula.jpg",
            &[0xFF, 0xD8, 0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F'],
        )?;
        let bank = write("certificado-banco.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR")?;
        let bank_again = write(
            "certificado-banco-dic.png",
            b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR2",
        )?;

        // The merchant signs up and works in Spanish.
        client.goto(&app.url("/dashboard/signup")).await?;
        fill(client, "#company", "Tienda Ana SAS").await?;
        fill(client, "#name", "Ana Gómez").await?;
        fill(client, "#email", "ana@example.co").await?;
        fill(client, "#password", PASSWORD).await?;
        click(
            client,
            "form[action='/dashboard/signup'] button[type=submit]",
        )
        .await?;
        shows(client, "data-figure=\"available\"").await?;
        switch_language(client, "es-CO", "lang=\"es-CO\"").await?;

        // Before approval, a live key is refused in the dashboard.
        client.goto(&app.url("/dashboard/keys")).await?;
        client
            .find(Locator::Css("#mode"))
            .await?
            .select_by_value("live")
            .await?;
        click(client, "form[action='/dashboard/keys'] button").await?;
        shows(
            client,
            "El modo real requiere que tu comercio esté aprobado (KYC).",
        )
        .await?;

        client.goto(&app.url("/dashboard/onboarding")).await?;
        shows(client, "Razón social").await?;
        for (css, text) in [
            ("#legal_name", "Tienda Ana SAS"),
            ("#nit", "900123456-8"),
            ("#address", "Calle 10 # 20-30"),
            ("#municipality", "05001"),
            ("#activity", "Venta de ropa en línea"),
            ("#website", "https://tienda.example.co"),
            ("#rep_name", "Ana Gómez"),
            ("#rep_document_number", "1020304050"),
            ("#rep_nationality", "CO"),
            ("#owner0_name", "Ana Gómez"),
            ("#owner0_document_number", "1020304050"),
            ("#owner0_nationality", "CO"),
            ("#owner0_share_pct", "100"),
            ("#monthly_payins_cop", "50000000"),
            ("#average_payin_cop", "80000"),
            ("#monthly_payouts_cop", "0"),
            ("#average_payout_cop", "0"),
        ] {
            fill(client, css, text).await?;
        }
        client
            .find(Locator::Css("#company_type"))
            .await?
            .select_by_value("sas")
            .await?;
        client
            .find(Locator::Css("#rep_document_type"))
            .await?
            .select_by_value("CC")
            .await?;
        client
            .find(Locator::Css("#owner0_document_type"))
            .await?
            .select_by_value("CC")
            .await?;
        click(client, "button[name=intent][value=save]").await?;
        shows(client, "data-kyc-status=\"draft\"").await?;
        for (kind, path) in [
            ("rut", &rut),
            ("chamber_certificate", &chamber),
            ("representative_id", &id),
            ("bank_certificate", &bank),
        ] {
            upload(client, kind, path).await?;
        }
        click(client, "button[name=intent][value=submit]").await?;
        shows(client, "Enviada: un operador la revisará.").await?;
        shows(client, "data-kyc-status=\"submitted\"").await?;
        let merchant = app
            .server
            .state
            .store
            .read(|mut c| {
                Box::pin(async move {
                    cajero_store::dashboard::user_by_email(&mut c, "ana@example.co").await
                })
            })
            .await?
            .context("the owner")?
            .merchant_id;

        // The operator, in English, takes it into review and asks for more.
        operator_signs_in(app, client, "luis@cajero.example").await?;
        click(client, "a[href='/console/kyc']").await?;
        shows(client, &merchant).await?;
        click(client, &format!("a[href='/console/merchants/{merchant}']")).await?;
        shows(client, "camara-comercio.pdf").await?;
        // The document viewer shows the file itself.
        let viewer = client
            .find(Locator::Css(&format!(
                "a[href^='/console/merchants/{merchant}/documents/']"
            )))
            .await?
            .attr("href")
            .await?
            .context("a document's link")?;
        // Without the operator's session, the document's address leads to the sign-in page.
        let served = app.http.get(app.url(&viewer)).send().await?;
        anyhow::ensure!(
            served.url().path() == "/console/login",
            "no session, no document: {}",
            served.url()
        );
        // With it, the viewer shows the file itself.
        client.goto(&app.url(&viewer)).await?;
        anyhow::ensure!(
            client.current_url().await?.path() == viewer,
            "the viewer opens"
        );
        client
            .goto(&app.url(&format!("/console/merchants/{merchant}")))
            .await?;
        kyc_step(
            app,
            client,
            &merchant,
            "start_review",
            "Documents received; checking RUT with DIAN",
        )
        .await?;
        shows(client, "id=\"kyc-status\">in_review").await?;
        kyc_step(
            app,
            client,
            &merchant,
            "request_info",
            "Please upload a bank certificate issued this month.",
        )
        .await?;
        shows(client, "id=\"kyc-status\">needs_info").await?;

        // The merchant reads the question and answers in Chinese.
        client.goto(&app.url("/dashboard/onboarding")).await?;
        switch_language(client, "zh-CN", "lang=\"zh-CN\"").await?;
        client.goto(&app.url("/dashboard/onboarding")).await?;
        shows(client, "运营人员的问题").await?;
        shows(
            client,
            "Please upload a bank certificate issued this month.",
        )
        .await?;
        fill(client, "#activity", "在线服装销售").await?;
        click(client, "button[name=intent][value=save]").await?;
        shows(client, "data-kyc-status=\"needs_info\"").await?;
        upload(client, "bank_certificate", &bank_again).await?;
        click(client, "button[name=intent][value=submit]").await?;
        shows(client, "已提交：运营人员将进行审核。").await?;

        // The operator approves.
        client
            .goto(&app.url(&format!("/console/merchants/{merchant}")))
            .await?;
        shows(client, "在线服装销售").await?;
        kyc_step(
            app,
            client,
            &merchant,
            "start_review",
            "New bank certificate received",
        )
        .await?;
        kyc_step(
            app,
            client,
            &merchant,
            "approve",
            "All documents verified; no adverse findings",
        )
        .await?;
        shows(client, "id=\"kyc-status\">approved").await?;
        shows(client, "id=\"merchant-status\">active").await?;
        client
            .goto(&app.url(&format!("/console/audit?merchant={merchant}")))
            .await?;
        shows(client, "All documents verified; no adverse findings").await?;

        // The owner now creates a live key.
        client.goto(&app.url("/dashboard/keys")).await?;
        client
            .find(Locator::Css("#mode"))
            .await?
            .select_by_value("live")
            .await?;
        click(client, "form[action='/dashboard/keys'] button").await?;
        shows(client, "data-secret").await?;
        let key = client
            .find(Locator::Css("#new-key"))
            .await?
            .prop("value")
            .await?
            .context("the new key's value")?;
        anyhow::ensure!(key.starts_with("sk_live_"), "{key}");
        let balance = app.get_with_key("/v1/balance", &key).await;
        anyhow::ensure!(
            balance.status() == 200,
            "the live key works: {}",
            balance.status()
        );
        Ok(())
    })
    .await;
}
