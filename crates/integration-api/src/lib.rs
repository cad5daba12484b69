//! The integration API: webhook ingest, content store, events and the content API, served locally or on Lambda.
