import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A PEM certificate and its key, as files and as text. */
export interface CertPair {
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
}

/**
 * Certificates for the HTTPS tests, made with openssl in a temp dir:
 * - `ca`: a CA that no trust store knows (tests trust it explicitly);
 * - `server`: signed by the CA for `localhost`, 127.0.0.1 and 127.0.0.2;
 * - `selfSigned`: the same names, signed by itself (trusted by nobody);
 * - `wrongHost`: signed by the CA, but only for `wrong.example.org`;
 * - `expired`: signed by the CA for the right names, valid only in January 2020.
 */
export interface TestCa {
  dir: string;
  ca: CertPair;
  server: CertPair;
  selfSigned: CertPair;
  wrongHost: CertPair;
  expired: CertPair;
  cleanup(): void;
}

const RIGHT_NAMES = 'DNS:localhost,IP:127.0.0.1,IP:127.0.0.2';

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
}

function pair(dir: string, name: string): CertPair {
  const certFile = path.join(dir, `${name}.pem`);
  const keyFile = path.join(dir, `${name}.key`);
  return { certFile, keyFile, cert: fs.readFileSync(certFile, 'utf8'), key: fs.readFileSync(keyFile, 'utf8') };
}

function newKey(dir: string, name: string): void {
  openssl(dir, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`]);
}

/** A leaf certificate signed by the CA with the given subjectAltName (valid 30 days). */
function leaf(dir: string, name: string, san: string): void {
  newKey(dir, name);
  openssl(dir, ['req', '-new', '-key', `${name}.key`, '-subj', `/CN=${name}`, '-out', `${name}.csr`]);
  fs.writeFileSync(path.join(dir, `${name}.ext`), `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n`);
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '30', '-extfile', `${name}.ext`, '-out', `${name}.pem`]);
}

/**
 * An expired leaf: `openssl x509 -req` cannot set dates in the past (OpenSSL 3.0), `openssl ca`
 * can, with -startdate/-enddate and a throwaway CA database.
 */
function expiredLeaf(dir: string): void {
  newKey(dir, 'expired');
  openssl(dir, ['req', '-new', '-key', 'expired.key', '-subj', '/CN=expired', '-out', 'expired.csr']);
  fs.mkdirSync(path.join(dir, 'ca-db'));
  fs.writeFileSync(path.join(dir, 'ca-db', 'index.txt'), '');
  fs.writeFileSync(path.join(dir, 'ca-db', 'serial'), '1000\n');
  fs.writeFileSync(
    path.join(dir, 'ca.cnf'),
    [
      '[ca]',
      'default_ca = test',
      '[test]',
      'dir = ./ca-db',
      'database = $dir/index.txt',
      'serial = $dir/serial',
      'new_certs_dir = $dir',
      'certificate = ca.pem',
      'private_key = ca.key',
      'default_md = sha256',
      'policy = any',
      'copy_extensions = none',
      'x509_extensions = leaf',
      '[any]',
      'commonName = supplied',
      '[leaf]',
      `subjectAltName = ${RIGHT_NAMES}`,
      'basicConstraints = CA:FALSE',
      'extendedKeyUsage = serverAuth',
      '',
    ].join('\n'),
  );
  openssl(dir, ['ca', '-batch', '-config', 'ca.cnf', '-notext', '-startdate', '20200101000000Z', '-enddate', '20200131000000Z', '-in', 'expired.csr', '-out', 'expired.pem']);
}

function make(): TestCa {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-ca-'));
  try {
    newKey(dir, 'ca');
    openssl(dir, ['req', '-x509', '-new', '-key', 'ca.key', '-subj', '/CN=Capsule Test CA', '-days', '30', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', 'ca.pem']);
    leaf(dir, 'server', RIGHT_NAMES);
    leaf(dir, 'wrong-host', 'DNS:wrong.example.org');
    newKey(dir, 'self-signed');
    openssl(dir, ['req', '-x509', '-new', '-key', 'self-signed.key', '-subj', '/CN=localhost', '-days', '30', '-addext', `subjectAltName=${RIGHT_NAMES}`, '-out', 'self-signed.pem']);
    expiredLeaf(dir);
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    dir,
    ca: pair(dir, 'ca'),
    server: pair(dir, 'server'),
    selfSigned: pair(dir, 'self-signed'),
    wrongHost: pair(dir, 'wrong-host'),
    expired: pair(dir, 'expired'),
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

let cached: TestCa | undefined;

/** The test file's CA (made on first use; each test file runs in its own process). Call `cleanup` in afterAll. */
export function testCa(): TestCa {
  if (cached && fs.existsSync(cached.dir)) return cached;
  const made = make();
  cached = {
    ...made,
    cleanup: () => {
      made.cleanup();
      cached = undefined;
    },
  };
  return cached;
}
