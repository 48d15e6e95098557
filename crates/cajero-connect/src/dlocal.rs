//! dLocal (to be written).
