#!/usr/bin/env -S VIGIL_REC_EXTRA_CA_CERTS=${NODE_EXTRA_CA_CERTS} NODE_EXTRA_CA_CERTS= node
// Node 20 reads and parses NODE_EXTRA_CA_CERTS at start-up (20-40 ms here, README) although the
// recorder never uses TLS: node starts without it and main.ts hands it back, unchanged, to the
// recorded program. (env -S: GNU coreutils 8.30 or later.)
'use strict';
require('../dist/vigil-rec.cjs');
