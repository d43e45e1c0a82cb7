#!/bin/bash
# make_certs.sh OUTDIR - test certificates for the TLS tests, made at test
# time (no private key is ever committed). Everything is signed with
# RSA-2048/SHA-256 and valid for 30 days unless said otherwise:
#   ca.pem ca.key                 the test CA
#   server.pem server.key         CN=localhost, SAN DNS:localhost, IP:127.0.0.1
#   client.pem client.key         CN=ttlog-client, clientAuth (mutual TLS)
#   wronghost.pem wronghost.key   SAN DNS:wrong.example only (name mismatch)
#   expired.pem expired.key       SAN localhost, 127.0.0.1; expired in 2020
#   other-ca.pem other-ca.key     a second CA nobody trusts
#   stranger.pem stranger.key     SAN localhost, 127.0.0.1, signed by other-ca
set -euo pipefail
out=${1:?usage: make_certs.sh OUTDIR}
mkdir -p "$out"
cd "$out"
exec 3>openssl.log
exec 2>&3

ca() { # NAME CN
	openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 30 \
		-subj "/CN=$2" -keyout "$1.key" -out "$1.pem" \
		-addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign
}

leaf() { # NAME CN SAN EKU ISSUER [START END]
	local name=$1 cn=$2 san=$3 eku=$4 issuer=$5
	openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=$cn" \
		-keyout "$name.key" -out "$name.csr"
	{
		echo "basicConstraints=CA:FALSE"
		echo "keyUsage=critical,digitalSignature,keyEncipherment"
		echo "extendedKeyUsage=$eku"
		[ -n "$san" ] && echo "subjectAltName=$san"
	} >"$name.ext"
	if [ $# -ge 7 ]; then
		# openssl x509 cannot back-date before 3.4; `openssl ca` can.
		mkdir -p "ca-$name"
		: >"ca-$name/index.txt"
		cat >"ca-$name/ca.cnf" <<CNF
[ca]
default_ca = test
[test]
dir = ca-$name
database = \$dir/index.txt
new_certs_dir = \$dir
serial = \$dir/serial
default_md = sha256
policy = any
copy_extensions = none
[any]
commonName = supplied
CNF
		echo 1000 >"ca-$name/serial"
		openssl ca -batch -notext -config "ca-$name/ca.cnf" \
			-cert "$issuer.pem" -keyfile "$issuer.key" \
			-startdate "$6" -enddate "$7" -extfile "$name.ext" \
			-in "$name.csr" -out "$name.pem"
	else
		openssl x509 -req -sha256 -days 30 -in "$name.csr" \
			-CA "$issuer.pem" -CAkey "$issuer.key" -CAcreateserial \
			-extfile "$name.ext" -out "$name.pem"
	fi
	rm -f "$name.csr" "$name.ext"
}

ca ca "ttlog test CA"
ca other-ca "ttlog untrusted CA"
local_san="DNS:localhost,IP:127.0.0.1"
leaf server localhost "$local_san" serverAuth ca
leaf client ttlog-client "" clientAuth ca
leaf wronghost wrong.example "DNS:wrong.example" serverAuth ca
leaf expired localhost "$local_san" serverAuth ca 20200101000000Z 20200201000000Z
leaf stranger localhost "$local_san" serverAuth other-ca
chmod 600 ./*.key
