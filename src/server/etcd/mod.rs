//! The etcd store backend of `pgw serve`'s cluster mode: replicas keep the
//! whole store in memory and make every change durable in etcd. `client` is
//! the etcd v3 client (over etcd's gRPC-gateway JSON API, so no protobuf
//! compiler or gRPC stack is needed).

pub mod client;
