/*
 * Console, exit, command line and host clock for QEMU's lm3s6965evb: UART0
 * (a PL011) and ARM semihosting (bkpt 0xab; QEMU needs
 * -semihosting-config enable=on, or the bkpt is a HardFault).
 */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "board.h"

#define REG32(a) (*(volatile uint32_t *)(a))

#define UART0_BASE 0x4000C000u
#define UART_DR    REG32(UART0_BASE + 0x000)
#define UART_FR    REG32(UART0_BASE + 0x018)
#define UART_LCRH  REG32(UART0_BASE + 0x02C)
#define UART_CTL   REG32(UART0_BASE + 0x030)

#define FR_BUSY    (1u << 3)
#define FR_TXFF    (1u << 5)
#define LCRH_WLEN8 (3u << 5)
#define CTL_UARTEN (1u << 0)
#define CTL_TXE    (1u << 8)
#define CTL_RXE    (1u << 9)

/* the emulated UART never stalls; a bound keeps a broken one from hanging us */
#define UART_SPIN  100000u

#define SYS_GET_CMDLINE   0x15
#define SYS_EXIT_EXTENDED 0x20
#define SYS_ELAPSED       0x30
#define SYS_TICKFREQ      0x31
#define ADP_STOPPED_APPLICATION_EXIT 0x20026u

static uintptr_t semihost(uintptr_t op, void *arg)
{
	register uintptr_t r0 __asm__("r0") = op;
	register void *r1 __asm__("r1") = arg;

	__asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
	return r0;
}

void board_init(void)
{
	/* reset leaves the UART off; baud rate registers stay at reset (QEMU
	 * ignores them, and the rate depends on the clock tree) */
	UART_CTL = 0;
	UART_LCRH = LCRH_WLEN8;
	UART_CTL = CTL_UARTEN | CTL_TXE | CTL_RXE;
}

void board_console_write(const char *s, size_t len)
{
	size_t i;
	uint32_t spin;

	for (i = 0; i < len; i++) {
		for (spin = UART_SPIN; (UART_FR & FR_TXFF) && spin; spin--)
			;
		UART_DR = (uint8_t)s[i];
	}
}

_Noreturn void board_exit(int code)
{
	uint32_t block[2] = { ADP_STOPPED_APPLICATION_EXIT, (uint32_t)code };
	uint32_t spin;

	for (spin = UART_SPIN; (UART_FR & FR_BUSY) && spin; spin--)
		;
	semihost(SYS_EXIT_EXTENDED, block);
	/* only without semihosting, where the bkpt itself faults */
	__asm__ volatile("cpsid i");
	for (;;)
		__asm__ volatile("wfi");
}

/* picolibc's exit() ends here; abort() and assert() through raise() and
 * kill(): status 128 + signal, as a shell reports a signal death */
void _exit(int code)
{
	board_exit(code);
}

pid_t getpid(void)
{
	return 1;
}

int kill(pid_t pid, int sig)
{
	(void)pid;
	board_exit(128 + sig);
}

int board_cmdline(char **argv, int max)
{
	static char buf[256];
	static char image[] = "image";
	uint32_t block[2] = { (uint32_t)(uintptr_t)buf, sizeof(buf) - 1 };
	int argc = 1;
	char *p = buf;

	argv[0] = image;
	if (semihost(SYS_GET_CMDLINE, block) != 0) {
		static const char msg[] = "board: command line too long, ignored\n";

		board_console_write(msg, sizeof(msg) - 1);
		return 1;
	}
	buf[block[1] < sizeof(buf) ? block[1] : sizeof(buf) - 1] = '\0';
	/* QEMU puts the -kernel file name first: that is argv[0] */
	while (*p && *p != ' ')
		p++;
	while (argc < max) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		argv[argc++] = p;
		while (*p && *p != ' ')
			p++;
		if (*p)
			*p++ = '\0';
	}
	return argc;
}

uint64_t board_host_ms(void)
{
	static uint32_t freq;
	uint32_t block[2];
	uint64_t ticks;

	if (freq == 0)
		freq = (uint32_t)semihost(SYS_TICKFREQ, NULL);
	if (freq == 0 || freq == UINT32_MAX || semihost(SYS_ELAPSED, block) != 0)
		return 0;
	ticks = block[0] | (uint64_t)block[1] << 32;
	return ticks / freq * 1000 + ticks % freq * 1000 / freq;
}

/* ---- picolibc stdio: stdout and stderr are the UART, stdin is empty ----- */

static int uart_putc(char c, FILE *f)
{
	(void)f;
	board_console_write(&c, 1);
	return (unsigned char)c;
}

static int no_getc(FILE *f)
{
	(void)f;
	return _FDEV_EOF;
}

static FILE uart_out = FDEV_SETUP_STREAM(uart_putc, NULL, NULL, _FDEV_SETUP_WRITE);
static FILE uart_in = FDEV_SETUP_STREAM(NULL, no_getc, NULL, _FDEV_SETUP_READ);

FILE *const stdout = &uart_out;
FILE *const stderr = &uart_out;
FILE *const stdin = &uart_in;
