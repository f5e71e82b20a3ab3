/*
 * crshim runner: main() for test programs built against the Criterion
 * stand-in in criterion/criterion.h (the TSan build; see README.md).
 *
 * Every test runs in a forked child of its own, in a process group of its
 * own: suite .init, test .init, the body, test .fini, suite .fini. The
 * child reports through a small MAP_SHARED block (failures, skip, phase
 * reached, ThreadSanitizer reports); the parent waits for it with its
 * .timeout and classifies the way it ended. Up to --jobs children run at
 * once; with more than one, each child's stdout and stderr go through a
 * pipe and are printed as one block when it ends. What does not depend on
 * processes or threads (registration, order, names, messages, output) is
 * in common.c, shared with runner_baremetal.c.
 */
#define _GNU_SOURCE
#include "crshim_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_THREAD__)
#define CRS_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CRS_TSAN 1
#endif
#endif

/* ---- state shared between a test child and the runner ------------------------ */

enum phase { PH_START, PH_INIT, PH_BODY, PH_FINI, PH_DONE };

struct shared {
	atomic_int phase;        /* how far the test thread got */
	atomic_int failures;     /* failed assertions and expectations */
	atomic_int fail_phase;   /* phase of the first failure, 0: none */
	atomic_int skipped;
	atomic_int other_thread; /* a fatal assert / skip ended it from another thread */
	volatile int tsan_reports;
	char skip_msg[256];
};

/* Child side: the test being run. */
static struct shared *cur;
static pthread_t test_thread;
static void (*cur_fini[2])(void);

/* Options. */
static int opt_jobs;
static bool opt_fail_fast;
static bool opt_always_succeed;
static bool opt_quiet;
static double opt_timeout;
static const char *opt_filter;

/* ---- child side: ending the test ------------------------------------------------- */

static bool in_test_thread(void)
{
	return pthread_equal(pthread_self(), test_thread);
}

__attribute__((noreturn)) static void child_exit(void)
{
	atomic_store(&cur->phase, PH_DONE);
	fflush(NULL);
	/* exit(), not _exit(): atexit handlers and ThreadSanitizer's final
	 * checks run (it turns the status into 66 after a report). */
	exit(0);
}

/* The test's and then the suite's .fini, stopping at a fatal failure. */
__attribute__((noreturn)) static void run_fini_and_exit(void)
{
	atomic_store(&cur->phase, PH_FINI);
	for (int i = 0; i < 2; i++)
		if (cur_fini[i] != NULL)
			cur_fini[i]();
	child_exit();
}

/* A fatal assertion or a skip from a thread other than the test's: the
 * test thread cannot be unwound from here, so the process ends now. */
__attribute__((noreturn)) static void other_thread_exit(void)
{
	atomic_store(&cur->other_thread, 1);
	fflush(NULL);
	_exit(0);
}

static void no_test(const char *what)
{
	fprintf(stderr, "[ERR ] crshim: %s outside a test\n", what);
	fflush(stderr);
	abort();
}

static void count_failure(void)
{
	int none = 0;

	atomic_fetch_add(&cur->failures, 1);
	atomic_compare_exchange_strong(&cur->fail_phase, &none, atomic_load(&cur->phase));
}

void crs_fatal_(const char *file, int line, const char *dflt, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	crs_report_failure(file, line, dflt, fmt, ap);
	va_end(ap);
	if (cur == NULL)
		no_test("assertion failed");
	count_failure();
	if (!in_test_thread()) {
		fprintf(stderr, "[----]   (in a thread other than the test's: the test process ends here)\n");
		other_thread_exit();
	}
	int ph = atomic_load(&cur->phase);
	if (ph == PH_BODY)
		run_fini_and_exit();   /* as Criterion: .fini runs after a failed assert */
	child_exit();                  /* failed in .init (no .fini) or in .fini */
}

void crs_expect_fail_(const char *file, int line, const char *dflt, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	crs_report_failure(file, line, dflt, fmt, ap);
	va_end(ap);
	if (cur == NULL)
		no_test("expectation failed");
	count_failure();
}

void crs_skip_(const char *fmt, ...)
{
	va_list ap;

	if (cur == NULL)
		no_test("cr_skip_test");
	va_start(ap, fmt);
	crs_vformat(cur->skip_msg, sizeof(cur->skip_msg), "The test was skipped.", fmt, ap);
	va_end(ap);
	atomic_store(&cur->skipped, 1);
	if (!in_test_thread())
		other_thread_exit();
	child_exit();   /* as Criterion 2.4: no .fini after a skip */
}

#ifdef CRS_TSAN
/*
 * ThreadSanitizer calls this for every report it prints; a test with a
 * report fails even if ThreadSanitizer's exit code cannot reach us (the
 * process ended through _exit or a signal).
 */
void __tsan_on_report(const void *report);
__attribute__((no_sanitize_thread)) void __tsan_on_report(const void *report)
{
	(void)report;
	if (cur != NULL)
		cur->tsan_reports++;
}
#endif

/* ---- the run list ----------------------------------------------------------------- */

struct item {
	const struct crs_test *t;
	const struct crs_suite *s;
	void *param;          /* parameterized: the element */
	long index;           /* parameterized: its index, else -1 */
	char name[256];       /* suite::name or suite::name[i] */
	char path[256];       /* suite/name, for --filter */
};

static struct item *items;
static size_t n_items, cap_items;
static struct criterion_test_params *param_sets;
static size_t n_param_sets;

static struct item *add_item(const struct crs_test *t)
{
	struct item *it;

	if (n_items == cap_items) {
		cap_items = cap_items ? cap_items * 2 : 64;
		items = realloc(items, cap_items * sizeof(*items));
		if (items == NULL) {
			perror("crshim");
			exit(2);
		}
	}
	it = &items[n_items++];
	memset(it, 0, sizeof(*it));
	it->t = t;
	it->s = crs_find_suite(t->suite);
	it->index = -1;
	crs_test_name(it->name, sizeof(it->name), t, -1);
	crs_test_path(it->path, sizeof(it->path), t);
	return it;
}

static void build_items(void)
{
	const struct crs_test *sorted = crs_sorted_tests();
	size_t n = 0;

	for (const struct crs_test *t = sorted; t != NULL; t = t->next)
		n++;
	param_sets = calloc(n ? n : 1, sizeof(*param_sets));
	if (param_sets == NULL) {
		perror("crshim");
		exit(2);
	}
	for (const struct crs_test *t = sorted; t != NULL; t = t->next) {
		if (opt_filter != NULL) {
			char path[256];

			crs_test_path(path, sizeof(path), t);
			if (fnmatch(opt_filter, path, 0) != 0)
				continue;
		}
		if (t->params == NULL) {
			add_item(t);
			continue;
		}
		/* Parameters are made here, in the runner: every child inherits them. */
		struct criterion_test_params p = t->params();

		param_sets[n_param_sets++] = p;
		for (size_t k = 0; k < p.length; k++) {
			struct item *it = add_item(t);

			it->param = (char *)p.params + k * p.size;
			it->index = (long)k;
			crs_test_name(it->name, sizeof(it->name), t, it->index);
		}
	}
}

/* Effective options: the test's, else its suite's. */
static bool item_disabled(const struct item *it)
{
	return crs_opt_disabled(it->t, it->s);
}

static double item_timeout(const struct item *it)
{
	if (it->t->opts->timeout > 0)
		return it->t->opts->timeout;
	if (it->s != NULL && it->s->opts->timeout > 0)
		return it->s->opts->timeout;
	return opt_timeout;
}

static int item_signal(const struct item *it)
{
	return crs_opt_signal(it->t, it->s);
}

static int item_exit_code(const struct item *it)
{
	return crs_opt_exit_code(it->t, it->s);
}

/* ---- child side: running one test ---------------------------------------------------- */

static int sig_pipe[2] = { -1, -1 };

__attribute__((noreturn)) static void child_main(const struct item *it, struct shared *sh,
						 int out_fd)
{
	const struct criterion_test_extra_data *to = it->t->opts;
	const struct criterion_test_extra_data *so = it->s != NULL ? it->s->opts : NULL;
	sigset_t none;

	setpgid(0, 0);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	close(sig_pipe[0]);
	close(sig_pipe[1]);
	if (out_fd >= 0) {
		dup2(out_fd, STDOUT_FILENO);
		dup2(out_fd, STDERR_FILENO);
		close(out_fd);
	}

	cur = sh;
	test_thread = pthread_self();
	cur_fini[0] = to->fini;
	cur_fini[1] = so != NULL ? so->fini : NULL;

	atomic_store(&cur->phase, PH_INIT);
	if (so != NULL && so->init != NULL)
		so->init();
	if (to->init != NULL)
		to->init();
	atomic_store(&cur->phase, PH_BODY);
	if (it->t->fn != NULL)
		it->t->fn();
	else
		((void (*)(void *))it->t->pfn)(it->param);
	run_fini_and_exit();
}

/* ---- runner side ------------------------------------------------------------------------ */

struct slot {
	bool busy;
	pid_t pid;
	struct item *it;
	struct shared *sh;
	double start, deadline;   /* deadline 0: none */
	bool timed_out;
	int out_fd;               /* capture pipe (jobs > 1), else -1 */
	char *out;
	size_t out_len, out_cap;
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	int saved = errno;
	char c = 0;

	if (sig != SIGCHLD)
		stop_signal = sig;
	if (write(sig_pipe[1], &c, 1) < 0) {
		/* full pipe: a wake-up is already pending */
	}
	errno = saved;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *sig_name(int sig)
{
	static const struct { int sig; const char *name; } names[] = {
		{ SIGHUP, "SIGHUP" }, { SIGINT, "SIGINT" }, { SIGQUIT, "SIGQUIT" },
		{ SIGILL, "SIGILL" }, { SIGTRAP, "SIGTRAP" }, { SIGABRT, "SIGABRT" },
		{ SIGBUS, "SIGBUS" }, { SIGFPE, "SIGFPE" }, { SIGKILL, "SIGKILL" },
		{ SIGUSR1, "SIGUSR1" }, { SIGSEGV, "SIGSEGV" }, { SIGUSR2, "SIGUSR2" },
		{ SIGPIPE, "SIGPIPE" }, { SIGALRM, "SIGALRM" }, { SIGTERM, "SIGTERM" },
		{ SIGCHLD, "SIGCHLD" }, { SIGXCPU, "SIGXCPU" }, { SIGXFSZ, "SIGXFSZ" },
		{ SIGSYS, "SIGSYS" },
	};
	static char buf[32];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].sig == sig)
			return names[i].name;
	snprintf(buf, sizeof(buf), "signal %d", sig);
	return buf;
}

static struct crs_stats stats;

static void drain(struct slot *sl)
{
	char buf[4096];
	ssize_t n;

	if (sl->out_fd < 0)
		return;
	while ((n = read(sl->out_fd, buf, sizeof(buf))) > 0) {
		if (sl->out_len + (size_t)n > sl->out_cap) {
			sl->out_cap = (sl->out_len + (size_t)n) * 2;
			sl->out = realloc(sl->out, sl->out_cap);
			if (sl->out == NULL) {
				perror("crshim");
				exit(2);
			}
		}
		memcpy(sl->out + sl->out_len, buf, (size_t)n);
		sl->out_len += (size_t)n;
	}
	if (n == 0) {   /* EOF */
		close(sl->out_fd);
		sl->out_fd = -1;
	}
}

static void start(struct slot *sl, struct item *it)
{
	int pfd[2] = { -1, -1 };
	pid_t pid;

	memset(sl->sh, 0, sizeof(*sl->sh));
	sl->it = it;
	sl->timed_out = false;
	sl->out_len = 0;
	sl->out_fd = -1;
	if (opt_jobs > 1) {
		if (pipe2(pfd, O_CLOEXEC) < 0) {
			perror("crshim: pipe");
			exit(2);
		}
	} else if (crs_opt_verbose) {
		fprintf(stderr, "[RUN ] %s\n", it->name);
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		perror("crshim: fork");
		exit(2);
	}
	if (pid == 0) {
		if (pfd[0] >= 0)
			close(pfd[0]);
		child_main(it, sl->sh, pfd[1]);
	}
	setpgid(pid, pid);   /* also done by the child: no race either way */
	if (pfd[1] >= 0) {
		close(pfd[1]);
		fcntl(pfd[0], F_SETFL, O_NONBLOCK);
		sl->out_fd = pfd[0];
	}
	sl->busy = true;
	sl->pid = pid;
	sl->start = now_s();
	double tmo = item_timeout(it);
	sl->deadline = tmo > 0 ? sl->start + tmo : 0;
}

/*
 * Print every thread's stack of a test that ran out of time, before it is
 * killed: a hang seen once in CI must say where it hung. Uses gdb when it
 * is installed (bounded to 60 s; CRSHIM_NO_STACKS=1 turns it off); the
 * output goes to stderr, into the test's log.
 */
static void dump_stacks(pid_t pid)
{
	char cmd[256];

	if (getenv("CRSHIM_NO_STACKS") != NULL && strcmp(getenv("CRSHIM_NO_STACKS"), "1") == 0)
		return;
	snprintf(cmd, sizeof(cmd),
		 "command -v gdb >/dev/null 2>&1 || { echo 'crshim: no gdb, no stacks'; exit 0; }; "
		 "timeout 60 gdb -p %d -batch -nx -ex 'thread apply all bt' </dev/null 2>&1 | "
		 "grep -v '^.New LWP'", (int)pid);
	fprintf(stderr, "[----] timed out: the stacks of process %d\n", (int)pid);
	fflush(stderr);
	if (system(cmd) == -1)
		perror("crshim: system");
}

/* Classify a finished child and print its result. */
static void finish(struct slot *sl, int status)
{
	const struct item *it = sl->it;
	const struct shared *sh = sl->sh;
	double secs = now_s() - sl->start;
	int want_sig = item_signal(it), want_code = item_exit_code(it);
	int failures = atomic_load(&sh->failures);
	int phase = atomic_load(&sh->phase);
	int fail_phase = atomic_load(&sh->fail_phase);
	int tsan = sh->tsan_reports;
	char why[300] = "";
	enum crs_result res = CRS_PASS;

	if (opt_jobs > 1) {
		drain(sl);
		if (sl->out_fd >= 0)
			close(sl->out_fd);
		sl->out_fd = -1;
		if (crs_opt_verbose)
			fprintf(stderr, "[RUN ] %s\n", it->name);
		if (sl->out_len > 0)
			fwrite(sl->out, 1, sl->out_len, stderr);
	}

	if (sl->timed_out) {
		res = CRS_FAIL;
		snprintf(why, sizeof(why), "Timed out. ");
	} else if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);

		if (want_sig != 0 && sig == want_sig && failures == 0 && tsan == 0) {
			res = CRS_PASS;
		} else {
			res = CRS_CRASH;
			snprintf(why, sizeof(why), "CRASH! (%s) ", sig_name(sig));
			fprintf(stderr, "[----] %s:%d: the test process was killed by %s (%s)\n",
				crs_short_file(it->t->file), it->t->line, sig_name(sig), strsignal(sig));
		}
	} else {
		int code = WEXITSTATUS(status);

		if (tsan > 0) {
			res = CRS_FAIL;
			snprintf(why, sizeof(why), "ThreadSanitizer reported %d warning%s. ",
				 tsan, tsan == 1 ? "" : "s");
		} else if (failures > 0) {
			res = CRS_FAIL;
			if (fail_phase == PH_INIT)
				snprintf(why, sizeof(why), "failed in .init. ");
			else if (fail_phase == PH_FINI)
				snprintf(why, sizeof(why), "failed in .fini. ");
		} else if (atomic_load(&sh->skipped)) {
			res = CRS_SKIP;
		} else if (want_sig != 0) {
			res = CRS_FAIL;
			snprintf(why, sizeof(why), "expected %s, exited with code %d. ",
				 sig_name(want_sig), code);
		} else if (phase == PH_DONE && code != want_code) {
			res = CRS_FAIL;
			if (code != 0)
				snprintf(why, sizeof(why), "exited with code %d after the test. ", code);
			else
				snprintf(why, sizeof(why), "returned; expected exit code %d. ", want_code);
		} else if (phase != PH_DONE && code != want_code) {
			res = CRS_FAIL;
			snprintf(why, sizeof(why), "exited with code %d during %s. ", code,
				 phase == PH_INIT ? ".init" : phase == PH_FINI ? ".fini" : "the test");
		}
	}

	crs_result(&stats, res, it->name, res == CRS_SKIP ? sh->skip_msg : why, secs,
		   crs_opt_verbose != 0);
	if ((res == CRS_FAIL || res == CRS_CRASH) && opt_fail_fast && stop_signal == 0)
		stop_signal = -1;
	sl->busy = false;
}

static void usage(const char *argv0, FILE *f)
{
	fprintf(f,
		"usage: %s [OPTIONS]\n"
		"Criterion-compatible test runner (crshim; see tests/crshim/README.md)\n"
		"  -h, --help             this text\n"
		"  -l, --list             list the tests\n"
		"  -jN, --jobs N          run N tests at once (default: CRITERION_JOBS or CPU count)\n"
		"  --filter PATTERN       run tests whose suite/name matches the glob\n"
		"  --timeout SECONDS      timeout for tests that set none\n"
		"  --verbose[=N]          print every test and cr_log_info\n"
		"  -q, --quiet            print failures only, no synthesis\n"
		"  -f, --fail-fast        start no test after a failure\n"
		"  -S, --short-filename   base names of source files\n"
		"  --always-succeed       exit 0 whatever happens\n"
		"  (--ascii, --color=..., --encoding=... are accepted and ignored)\n",
		argv0);
}

/* Value of "--opt=V" / "--opt V" / "-xV" / "-x V"; NULL if arg is not opt. */
static const char *opt_value(int argc, char **argv, int *i, const char *lng, const char *shrt)
{
	const char *a = argv[*i];
	size_t n;

	if (lng != NULL) {
		n = strlen(lng);
		if (strncmp(a, lng, n) == 0 && a[n] == '=')
			return a + n + 1;
		if (strcmp(a, lng) == 0)
			goto next;
	}
	if (shrt != NULL) {
		n = strlen(shrt);
		if (strncmp(a, shrt, n) == 0 && a[n] != '\0')
			return a + n;
		if (strcmp(a, shrt) == 0)
			goto next;
	}
	return NULL;
next:
	if (*i + 1 >= argc) {
		fprintf(stderr, "crshim: %s needs a value\n", a);
		exit(2);
	}
	return argv[++*i];
}

static void parse_args(int argc, char **argv, bool *list)
{
	const char *env = getenv("CRITERION_JOBS");
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	opt_jobs = env != NULL && atoi(env) > 0 ? atoi(env) : ncpu > 0 ? (int)ncpu : 1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v;

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(argv[0], stdout);
			exit(0);
		} else if (strcmp(a, "-l") == 0 || strcmp(a, "--list") == 0) {
			*list = true;
		} else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
			opt_quiet = true;
		} else if (strcmp(a, "-f") == 0 || strcmp(a, "--fail-fast") == 0) {
			opt_fail_fast = true;
		} else if (strcmp(a, "-S") == 0 || strcmp(a, "--short-filename") == 0) {
			crs_opt_short_names = true;
		} else if (strcmp(a, "--always-succeed") == 0) {
			opt_always_succeed = true;
		} else if (strcmp(a, "--verbose") == 0) {
			crs_opt_verbose = 1;
		} else if (strncmp(a, "--verbose=", 10) == 0) {
			crs_opt_verbose = atoi(a + 10);
		} else if (strcmp(a, "--ascii") == 0 || strncmp(a, "--color", 7) == 0 ||
			   strncmp(a, "--encoding", 10) == 0) {
			/* cosmetic in Criterion; nothing to do */
		} else if ((v = opt_value(argc, argv, &i, "--jobs", "-j")) != NULL) {
			opt_jobs = atoi(v);
			if (opt_jobs < 1) {
				fprintf(stderr, "crshim: bad job count '%s'\n", v);
				exit(2);
			}
		} else if ((v = opt_value(argc, argv, &i, "--filter", NULL)) != NULL) {
			opt_filter = v;
		} else if ((v = opt_value(argc, argv, &i, "--timeout", NULL)) != NULL) {
			opt_timeout = atof(v);
		} else {
			fprintf(stderr, "crshim: unknown option '%s'\n", a);
			usage(argv[0], stderr);
			exit(2);
		}
	}
}

int main(int argc, char **argv)
{
	bool list = false;
	struct slot *slots;
	struct shared *shm;
	size_t next = 0;
	int running = 0;
	struct sigaction sa;

	parse_args(argc, argv, &list);
	build_items();
	if (list) {
		for (size_t i = 0; i < n_items; i++)
			printf("%s%s\n", items[i].name, item_disabled(&items[i]) ? " (disabled)" : "");
		return 0;
	}

	slots = calloc((size_t)opt_jobs, sizeof(*slots));
	shm = mmap(NULL, (size_t)opt_jobs * sizeof(*shm), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (slots == NULL || shm == MAP_FAILED || pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		perror("crshim");
		return 2;
	}
	for (int j = 0; j < opt_jobs; j++) {
		slots[j].sh = &shm[j];
		slots[j].out_fd = -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (crs_opt_verbose)
		fprintf(stderr, "[----] crshim: Criterion-compatible runner, %zu tests, %d job%s\n",
			n_items, opt_jobs, opt_jobs == 1 ? "" : "s");

	for (;;) {
		/* Start what fits. */
		while (stop_signal == 0 && next < n_items && running < opt_jobs) {
			struct item *it = &items[next++];

			if (item_disabled(it)) {
				crs_result(&stats, CRS_SKIP, it->name, "Test is disabled", 0, false);
				continue;
			}
			for (int j = 0; j < opt_jobs; j++) {
				if (!slots[j].busy) {
					start(&slots[j], it);
					running++;
					break;
				}
			}
		}
		if (running == 0)
			break;

		/* Sleep until a child ends, output arrives, a signal or a deadline. */
		struct pollfd pf[1 + 64];
		int npf = 0;
		double now = now_s(), wait_s = 1.0;

		pf[npf].fd = sig_pipe[0];
		pf[npf++].events = POLLIN;
		for (int j = 0; j < opt_jobs && npf < (int)(sizeof(pf) / sizeof(pf[0])); j++) {
			if (slots[j].busy && slots[j].out_fd >= 0) {
				pf[npf].fd = slots[j].out_fd;
				pf[npf++].events = POLLIN;
			}
			if (slots[j].busy && slots[j].deadline > 0 && !slots[j].timed_out &&
			    slots[j].deadline - now < wait_s)
				wait_s = slots[j].deadline - now;
		}
		if (wait_s < 0)
			wait_s = 0;
		if (poll(pf, (nfds_t)npf, (int)(wait_s * 1000) + 1) < 0 && errno != EINTR) {
			perror("crshim: poll");
			return 2;
		}
		char junk[64];
		while (read(sig_pipe[0], junk, sizeof(junk)) > 0) {
		}

		now = now_s();
		for (int j = 0; j < opt_jobs; j++) {
			struct slot *sl = &slots[j];
			siginfo_t si;
			int status;

			if (!sl->busy)
				continue;
			drain(sl);
			if (stop_signal > 0 || (sl->deadline > 0 && now >= sl->deadline && !sl->timed_out)) {
				sl->timed_out = stop_signal <= 0;
				if (sl->timed_out)
					dump_stacks(sl->pid);
				kill(-sl->pid, SIGKILL);
			}
			/* Ended? Look without reaping, so that the pid (and so
			 * the process group id) cannot be reused before the
			 * group's leftovers are killed. */
			memset(&si, 0, sizeof(si));
			if (waitid(P_PID, (id_t)sl->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0 ||
			    si.si_pid == 0)
				continue;
			kill(-sl->pid, SIGKILL);
			if (waitpid(sl->pid, &status, 0) < 0)
				continue;
			finish(sl, status);
			running--;
		}
	}

	if (stop_signal > 0) {
		fprintf(stderr, "[ERR ] crshim: interrupted by %s\n", sig_name(stop_signal));
		return 128 + stop_signal;
	}
	if (!opt_quiet)
		crs_print_synthesis(&stats);
	for (size_t i = 0; i < n_param_sets; i++)
		if (param_sets[i].cleanup != NULL)
			param_sets[i].cleanup(&param_sets[i]);
	if (opt_always_succeed)
		return 0;
	return stats.failing > 0 ? 1 : 0;
}
