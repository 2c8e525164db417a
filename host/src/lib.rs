//! phirig host library: the pieces behind the `phirig` binary (proxy, aggregation, faces).
