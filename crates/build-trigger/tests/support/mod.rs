//! Shared by the tests of this crate.
#![allow(dead_code)]

pub mod aws;
pub mod events;
pub mod moto;
