#!/bin/sh
# TEST ONLY. Makes the fixed test PKI of boards/lm3s6965evb's TLS client
# test (tests/tls_client_test.sh): its private keys are in the repository,
# so nothing must ever trust these CAs. Checked in, not made at build time,
# because the image carries its CA certificates (the build converts them,
# tests/pem2c.py); rerun only to replace them:
#
#   sh boards/lm3s6965evb/tests/pki/make-pki.sh boards/lm3s6965evb/tests/pki
#
#   ec_ca.pem                   EC P-256 root CA "zsock board test EC CA"
#   ec_server.pem, .key         EC P-256 server, CN and DNS server.test, by ec_ca
#   rsa_ca.pem                  RSA-2048 root CA "zsock board test RSA CA"
#   rsa_server.pem, .key        RSA-2048 server, CN and DNS server.test, by rsa_ca
#
# Valid 2025-01-01 .. 2125-01-01 (fixed dates: the test passes on any host
# clock in that range, whenever the files were made).
set -eu
out=$(cd "$1" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
printf '%s\n' '[ ca ]' 'default_ca = t' '[ t ]' 'database = index.txt' 'new_certs_dir = .' \
  'serial = serial' 'default_md = sha256' 'policy = pol' 'unique_subject = no' 'copy_extensions = none' \
  '[ pol ]' 'commonName = supplied' > ca.cnf
printf '%s\n' 'basicConstraints = critical, CA:TRUE' 'keyUsage = critical, keyCertSign, cRLSign' \
  'subjectKeyIdentifier = hash' > ca.ext
printf '%s\n' 'basicConstraints = critical, CA:FALSE' \
  'keyUsage = critical, digitalSignature, keyEncipherment' 'extendedKeyUsage = serverAuth' \
  'subjectAltName = DNS:server.test' 'authorityKeyIdentifier = keyid' > leaf.ext
: > index.txt
echo 1000 > serial
dates='-startdate 20250101000000Z -enddate 21250101000000Z'
for k in ec_ca ec_server; do
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $k.key
done
for k in rsa_ca rsa_server; do
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out $k.key
done
for t in ec rsa; do
  T=$(echo $t | tr a-z A-Z)
  openssl req -new -key ${t}_ca.key -subj "/CN=zsock board test $T CA" -out ${t}_ca.csr
  openssl ca -batch -config ca.cnf -selfsign -keyfile ${t}_ca.key -in ${t}_ca.csr \
    -out ${t}_ca.pem $dates -extfile ca.ext -notext
  openssl req -new -key ${t}_server.key -subj "/CN=server.test" -out ${t}_server.csr
  openssl ca -batch -config ca.cnf -cert ${t}_ca.pem -keyfile ${t}_ca.key -in ${t}_server.csr \
    -out ${t}_server.pem $dates -extfile leaf.ext -notext
  openssl verify -CAfile ${t}_ca.pem ${t}_server.pem
done
note='TEST ONLY (zsock boards/lm3s6965evb/tests/pki): the keys are public, never trust this CA'
for f in ec_ca.pem ec_server.pem ec_server.key rsa_ca.pem rsa_server.pem rsa_server.key; do
  { echo "$note"; cat $f; } > "$out/$f"
done
