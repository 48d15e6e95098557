//! The simulator connector (being written).
