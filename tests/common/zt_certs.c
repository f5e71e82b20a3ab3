/* zt_certs: a test PKI made with the openssl CLI; see zt_certs.h. */
#define _GNU_SOURCE
#include "zt_certs.h"

#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define DIR_PREFIX "zt-certs-"

static char certs_dir[128];
static pid_t certs_pid;		/* the process that made certs_dir */

/*
 * The generator: one /bin/sh run (cwd = the new directory), every file
 * made by openssl. $1 is the directory. Its output goes to gen.log there,
 * printed when it fails.
 */
static const char gen_script[] =
	"set -e\n"
	"cd \"$1\"\n"
	"exec >gen.log 2>&1\n"
	"umask 077\n"
	"key_ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out \"$1.key\"; }\n"
	"key_rsa() { openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out \"$1.key\"; }\n"
	"csr() { openssl req -new -key \"$1.key\" -subj \"/CN=$2\" -out \"$1.csr\"; }\n"
	/* selfsign NAME CN EXTFILE SERIAL */
	"selfsign() { csr \"$1\" \"$2\"; openssl x509 -req -in \"$1.csr\" -signkey \"$1.key\""
	" -days 3650 -sha256 -set_serial \"$4\" -extfile \"$3\" -out \"$1.pem\"; }\n"
	/* signed NAME CN EXTFILE ISSUER SERIAL */
	"signed() { csr \"$1\" \"$2\"; openssl x509 -req -in \"$1.csr\" -CA \"$4.pem\" -CAkey \"$4.key\""
	" -days 3650 -sha256 -set_serial \"$5\" -extfile \"$3\" -out \"$1.pem\"; }\n"
	"printf '%s\\n' 'basicConstraints = critical, CA:TRUE' 'keyUsage = critical, keyCertSign, cRLSign'"
	" 'subjectKeyIdentifier = hash' > ca.ext\n"
	"printf '%s\\n' 'basicConstraints = critical, CA:TRUE, pathlen:0'"
	" 'keyUsage = critical, keyCertSign, cRLSign' 'subjectKeyIdentifier = hash'"
	" 'authorityKeyIdentifier = keyid:always' > int.ext\n"
	"printf '%s\\n' 'basicConstraints = critical, CA:FALSE'"
	" 'keyUsage = critical, digitalSignature, keyEncipherment'"
	" 'extendedKeyUsage = serverAuth, clientAuth'"
	" 'subjectAltName = DNS:server.test, IP:192.0.2.1, IP:192.0.2.2, IP:127.0.0.1, IP:::1' > leaf.ext\n"
	"printf '%s\\n' 'basicConstraints = critical, CA:FALSE' 'keyUsage = critical, digitalSignature'"
	" 'extendedKeyUsage = clientAuth' 'subjectAltName = DNS:client.test' > client.ext\n"
	"printf '%s\\n' '[ ca ]' 'default_ca = zt' '[ zt ]' 'database = index.txt' 'new_certs_dir = .'"
	" 'serial = serial' 'default_md = sha256' 'policy = pol' 'unique_subject = no'"
	" '[ pol ]' 'commonName = supplied' > ca.cnf\n"
	": > index.txt\n"
	"echo 1000 > serial\n"
	/* the two RSA keys are the slow part: make them side by side */
	"key_rsa rsa_ca & p1=$!\n"
	"key_rsa rsa_leaf & p2=$!\n"
	"for k in ec_ca ec_int ec_leaf ec_self ec_client ec_client_rsaca ec_expired; do key_ec $k; done\n"
	"wait $p1\n"
	"wait $p2\n"
	"selfsign rsa_ca 'zsock test RSA CA' ca.ext 1\n"
	"selfsign ec_ca 'zsock test EC CA' ca.ext 2\n"
	"signed ec_int 'zsock test EC intermediate' int.ext ec_ca 3\n"
	"signed rsa_leaf server.test leaf.ext rsa_ca 4\n"
	"signed ec_leaf server.test leaf.ext ec_int 5\n"
	"selfsign ec_self server.test leaf.ext 6\n"
	"signed ec_client client.test client.ext ec_ca 7\n"
	"signed ec_client_rsaca client.test client.ext rsa_ca 8\n"
	"csr ec_expired server.test\n"
	"openssl ca -batch -config ca.cnf -cert ec_ca.pem -keyfile ec_ca.key -in ec_expired.csr"
	" -out ec_expired.pem -startdate 20200101000000Z -enddate 20210101000000Z"
	" -extfile leaf.ext -notext\n"
	"openssl verify -CAfile ec_ca.pem -untrusted ec_int.pem ec_leaf.pem\n"
	"openssl verify -CAfile rsa_ca.pem rsa_leaf.pem\n"
	"for c in rsa_ca ec_ca ec_int rsa_leaf ec_leaf ec_self ec_client ec_client_rsaca ec_expired; do\n"
	"  openssl x509 -in $c.pem -outform DER -out $c.der\n"
	"  openssl pkey -in $c.key -outform DER -out $c.key.der\n"
	"done\n"
	"for c in ec_leaf ec_client; do\n"
	"  openssl ec -in $c.key -outform DER -out $c.sec1.der\n"
	"  openssl ec -in $c.key -out $c.sec1.pem\n"
	"done\n"
	"for c in rsa_leaf; do\n"
	"  openssl rsa -in $c.key -traditional -outform DER -out $c.pkcs1.der\n"
	"  openssl rsa -in $c.key -traditional -out $c.pkcs1.pem\n"
	"done\n"
	"cat ec_leaf.pem ec_int.pem > ec_leaf_chain.pem\n"
	"cat ec_leaf.der ec_int.der > ec_leaf_chain.der\n"
	"cat rsa_ca.pem ec_ca.pem > both_ca.pem\n"
	"cat rsa_ca.der ec_ca.der > both_ca.der\n"
	"rm -f ./*.csr index.txt* serial* 1000.pem\n"
	"echo ok > done\n";

/* Run argv, stdin /dev/null, stdout and stderr to /dev/null when quiet.
 * posix_spawn, not fork: the engine's threads may hold locks. Returns the
 * exit status, -1 if it could not run or died by a signal. */
static int run(char *const argv[], bool quiet)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int rc, st;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (quiet) {
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
		posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	}
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0)
		return -1;
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

bool zt_certs_have_openssl(void)
{
	char *argv[] = { "openssl", "version", NULL };

	return run(argv, true) == 0;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

static void rm_tree(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Remove /tmp/zt-certs-<pid>-* of processes that are gone. */
static void delete_stale(void)
{
	DIR *d = opendir("/tmp");
	struct dirent *e;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		char path[300], *end;
		long pid;

		if (strncmp(e->d_name, DIR_PREFIX, strlen(DIR_PREFIX)) != 0)
			continue;
		pid = strtol(e->d_name + strlen(DIR_PREFIX), &end, 10);
		if (*end != '-' || pid <= 0)
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(path, sizeof(path), "/tmp/%s", e->d_name);
		rm_tree(path);
	}
	closedir(d);
}

void zt_certs_cleanup(void)
{
	if (certs_dir[0] != '\0' && certs_pid == getpid())
		rm_tree(certs_dir);
	certs_dir[0] = '\0';
}

static void at_exit(void)
{
	zt_certs_cleanup();
}

void zt_certs_make(void)
{
	static bool atexit_done;
	char *argv[] = { "/bin/sh", "-c", (char *)gen_script, "zt_certs", certs_dir, NULL };
	int rc;

	if (certs_dir[0] != '\0' && certs_pid == getpid())
		return;
	cr_assert(zt_certs_have_openssl(), "the openssl CLI is missing (scripts/install-packages.sh)");
	delete_stale();
	snprintf(certs_dir, sizeof(certs_dir), "/tmp/" DIR_PREFIX "%d-XXXXXX", (int)getpid());
	cr_assert_not_null(mkdtemp(certs_dir), "mkdtemp %s: %s", certs_dir, strerror(errno));
	certs_pid = getpid();
	if (!atexit_done) {
		atexit(at_exit);
		atexit_done = true;
	}
	rc = run(argv, false);
	if (rc != 0 || access(zt_certs_path("done"), F_OK) != 0) {
		char *cat[] = { "cat", (char *)zt_certs_path("gen.log"), NULL };

		fprintf(stderr, "zt_certs: the generator failed (status %d); its log:\n", rc);
		run(cat, false);
		cr_assert_fail("zt_certs: making the test PKI with openssl failed (status %d)", rc);
	}
}

const char *zt_certs_dir(void)
{
	cr_assert(certs_dir[0] != '\0', "zt_certs_make() first");
	return certs_dir;
}

const char *zt_certs_path(const char *name)
{
	static char bufs[16][192];
	static unsigned int next;
	char *b = bufs[next++ % 16];

	snprintf(b, sizeof(bufs[0]), "%s/%s", zt_certs_dir(), name);
	return b;
}

#define SLOTS 32
#define SLOT_SIZE 8192

static struct {
	char name[64];
	size_t len;
	uint8_t data[SLOT_SIZE + 1];
} slots[SLOTS];

const uint8_t *zt_certs_load(const char *name, size_t *len)
{
	FILE *f;
	size_t n;
	int i;

	for (i = 0; i < SLOTS && slots[i].name[0] != '\0'; i++) {
		if (strcmp(slots[i].name, name) == 0) {
			*len = slots[i].len;
			return slots[i].data;
		}
	}
	cr_assert_lt(i, SLOTS, "zt_certs_load: more than %d files", SLOTS);
	cr_assert_lt(strlen(name), sizeof(slots[i].name), "zt_certs_load: name too long");
	f = fopen(zt_certs_path(name), "rb");
	cr_assert_not_null(f, "zt_certs_load: %s: %s", zt_certs_path(name), strerror(errno));
	n = fread(slots[i].data, 1, SLOT_SIZE + 1, f);
	fclose(f);
	cr_assert_leq(n, SLOT_SIZE, "zt_certs_load: %s is larger than %d bytes", name, SLOT_SIZE);
	cr_assert_gt(n, 0, "zt_certs_load: %s is empty", name);
	slots[i].data[n] = 0;
	slots[i].len = n;
	snprintf(slots[i].name, sizeof(slots[i].name), "%s", name);
	*len = n;
	return slots[i].data;
}

void zt_certs_add(sec_tag_t tag, enum tls_credential_type type, const char *name)
{
	size_t len;
	const uint8_t *p = zt_certs_load(name, &len);
	int rc = tls_credential_add(tag, type, p, len);

	cr_assert_eq(rc, 0, "tls_credential_add(tag %d, type %d, %s, %zu bytes) = %d", tag,
		     (int)type, name, len, rc);
}
