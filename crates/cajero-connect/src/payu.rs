//! PayU Latam (to be written).
