//! Shared by the tests of this crate.
#![allow(dead_code)]

pub mod events;
