@0x8735c07e6ef52264;
# A test-only interface for RPC over TLS (tests/unit/security/tls_rpc_test.cpp).

interface Echo {
  echo @0 (text :Text) -> (text :Text);
}
