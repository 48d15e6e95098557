//! Kushki (to be written).
