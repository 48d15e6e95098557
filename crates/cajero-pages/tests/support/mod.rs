//! A voucher and a pick-up as the server would fill them.

#![allow(dead_code, clippy::unwrap_used)]

pub mod decode;

use cajero_pages::{
    CounterView, DocumentHint, PickupStatus, PickupView, VoucherStatus, VoucherView,
};

pub const FULL_DOCUMENT_NUMBER: &str = "79876543";

pub fn counters() -> Vec<CounterView> {
    vec![
        CounterView {
            name: "Efecty Chapinero Calle 57".into(),
            address: "Carrera 13 # 57-24".into(),
            city: "Bogotá".into(),
            hours: "Lun–Vie 08:00–18:00, Sáb 08:00–13:00".into(),
            extended_hours: false,
        },
        CounterView {
            name: "Efecty Éxito Calle 80".into(),
            address: "Avenida Calle 80 # 69Q-50".into(),
            city: "Bogotá".into(),
            hours: "Todos los días 08:00–22:00, incluye festivos".into(),
            extended_hours: true,
        },
        CounterView {
            name: "Efecty Galerías".into(),
            address: "Calle 53 # 25-13".into(),
            city: "Bogotá".into(),
            hours: "Lun–Vie 08:00–18:00, Sáb 08:00–13:00".into(),
            extended_hours: false,
        },
    ]
}

pub fn voucher() -> VoucherView {
    VoucherView {
        amount: 150_000,
        currency: "COP".into(),
        payment_code: "4280 7357".into(),
        agreement_code: "111571".into(),
        network_name: "Efecty".into(),
        barcode_data: "(415)7709998000018(8020)42807357(3900)150000(96)20261128".into(),
        // 23:59 on 28 November 2026 in Bogotá (UTC-5).
        expires_at: "2026-11-29T04:59:00Z".parse().unwrap(),
        merchant_name: "Tienda Doña Ana".into(),
        reference: "order-1042".into(),
        description: Some("Pedido 1042".into()),
        page_url: "https://pagos.example.com/v/vt_3xK9mQ2rT7wZ1pL8nB4cD6".into(),
        pdf_url: Some("https://pagos.example.com/v/vt_3xK9mQ2rT7wZ1pL8nB4cD6.pdf".into()),
        counters: counters(),
        status: VoucherStatus::Pending,
    }
}

pub fn pickup() -> PickupView {
    PickupView {
        amount: 200_000,
        currency: "COP".into(),
        pickup_code: "5821093744".into(),
        beneficiary_first_name: "Luis".into(),
        document_type: "CC".into(),
        document_hint: DocumentHint::from_full_number(FULL_DOCUMENT_NUMBER),
        merchant_name: "Giros La Esperanza".into(),
        expires_at: "2026-12-02T17:30:00Z".parse().unwrap(),
        network_name: "Efecty".into(),
        counters: counters(),
        status: PickupStatus::Available,
        pdf_url: Some("https://pagos.example.co/p/tok.pdf".into()),
    }
}
