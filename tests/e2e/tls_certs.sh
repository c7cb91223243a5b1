#!/usr/bin/env bash
# Makes the certificates the tls e2e tests use, in DIR (nothing is committed):
#   ca.pem ca.key            the test CA
#   other-ca.pem             a CA that signed nothing here (wrong CA)
#   server.pem server.key    for DNS:localhost only (good name; 127.0.0.1 is a wrong one)
#   expired.pem expired.key  for DNS:localhost, valid only in 2020
#   client.pem client.key    a client certificate (mutual TLS)
#   tls_certs.sh DIR
set -euo pipefail
dir=${1:?usage: tls_certs.sh DIR}
mkdir -p "$dir"
cd "$dir"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ca() {
    key "$1.key"
    openssl req -x509 -new -key "$1.key" -out "$1.pem" -days 2 -subj "/CN=remora test $1" 2>/dev/null
}
# $1: name, $2: subjectAltName, $3: extendedKeyUsage
csr() {
    key "$1.key"
    openssl req -new -key "$1.key" -out "$1.csr" -subj "/CN=remora test $1" \
        -addext "subjectAltName=$2" -addext "extendedKeyUsage=$3" 2>/dev/null
}
sign() {
    openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
        -copy_extensions copy -out "$1.pem" 2>/dev/null
}
ca ca
ca other-ca
csr server DNS:localhost serverAuth && sign server
csr client DNS:client serverAuth,clientAuth && sign client
# x509 -req cannot back-date; a throwaway CA database can
csr expired DNS:localhost serverAuth
: >index.txt
echo 01 >serial
cat >ca.cnf <<CNF
[ca]
default_ca = test
[test]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = any
copy_extensions = copy
[any]
commonName = supplied
CNF
openssl ca -batch -notext -config ca.cnf -cert ca.pem -keyfile ca.key -in expired.csr -out expired.pem \
    -startdate 20200101000000Z -enddate 20200102000000Z 2>/dev/null
