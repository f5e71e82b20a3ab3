/*
 * Reset and exception entry for the LM3S6965 (Cortex-M3), linked with
 * lm3s6965evb.ld and picolibc (-nostartfiles: this replaces crt0).
 *
 * Every exception but reset is a weak alias of one handler that reports
 * and ends QEMU: a fault prints a FAULT line and exits 70, any other
 * exception or interrupt without a handler exits 71. A crash never hangs
 * the test run.
 */
#include <picolibc.h>
#include <picotls.h>
#include <stdint.h>
#include <string.h>

#include "board.h"

#define STACK_PAINT 0xA5A5A5A5u

#define REG32(a) (*(volatile uint32_t *)(a))
#define SCB_SHCSR REG32(0xE000ED24u)
#define SCB_CFSR  REG32(0xE000ED28u)
#define SCB_HFSR  REG32(0xE000ED2Cu)
#define SCB_MMFAR REG32(0xE000ED34u)
#define SCB_BFAR  REG32(0xE000ED38u)
#define SCB_CCR   REG32(0xE000ED14u)

#define MPU_CTRL  REG32(0xE000ED94u)
#define MPU_RNR   REG32(0xE000ED98u)
#define MPU_RBAR  REG32(0xE000ED9Cu)
#define MPU_RASR  REG32(0xE000EDA0u)

#define SHCSR_FAULTS_ENA (7u << 16)    /* MemManage, BusFault, UsageFault */
#define CCR_DIV_0_TRP    (1u << 4)
#define MPU_ENABLE       1u
#define MPU_PRIVDEFENA   4u            /* default map where no region says otherwise */
/* no access (AP 0), never execute, 2^(log2) bytes */
#define RASR_GUARD(log2) ((1u << 28) | (((log2) - 1u) << 1) | 1u)
#define STACK_GUARD      32u           /* the smallest region */
#define CFSR_STKERR      ((1u << 4) | (1u << 12)) /* MSTKERR, BSTKERR: no frame */

#define ARGV_MAX 16

/* from lm3s6965evb.ld */
extern uint32_t __stack_top[], __stack_limit[];
extern uint32_t __data_start[], __data_end[], __data_source[];
extern uint32_t __bss_start[], __bss_end[];
extern char __tls_base[];
extern void (*const __preinit_array_start[])(void), (*const __preinit_array_end[])(void);
extern void (*const __init_array_start[])(void), (*const __init_array_end[])(void);

int main(int argc, char **argv);
void Reset_Handler(void);

__attribute__((naked)) static void Default_Handler(void);

#define WEAK_HANDLER(name) void name(void) __attribute__((weak, alias("Default_Handler")))

WEAK_HANDLER(NMI_Handler);
WEAK_HANDLER(HardFault_Handler);
WEAK_HANDLER(MemManage_Handler);
WEAK_HANDLER(BusFault_Handler);
WEAK_HANDLER(UsageFault_Handler);
WEAK_HANDLER(SVC_Handler);
WEAK_HANDLER(DebugMon_Handler);
WEAK_HANDLER(PendSV_Handler);
WEAK_HANDLER(SysTick_Handler);

WEAK_HANDLER(GPIOA_IRQHandler);
WEAK_HANDLER(GPIOB_IRQHandler);
WEAK_HANDLER(GPIOC_IRQHandler);
WEAK_HANDLER(GPIOD_IRQHandler);
WEAK_HANDLER(GPIOE_IRQHandler);
WEAK_HANDLER(UART0_IRQHandler);
WEAK_HANDLER(UART1_IRQHandler);
WEAK_HANDLER(SSI0_IRQHandler);
WEAK_HANDLER(I2C0_IRQHandler);
WEAK_HANDLER(PWMFault_IRQHandler);
WEAK_HANDLER(PWMGen0_IRQHandler);
WEAK_HANDLER(PWMGen1_IRQHandler);
WEAK_HANDLER(PWMGen2_IRQHandler);
WEAK_HANDLER(QEI0_IRQHandler);
WEAK_HANDLER(ADCSeq0_IRQHandler);
WEAK_HANDLER(ADCSeq1_IRQHandler);
WEAK_HANDLER(ADCSeq2_IRQHandler);
WEAK_HANDLER(ADCSeq3_IRQHandler);
WEAK_HANDLER(Watchdog_IRQHandler);
WEAK_HANDLER(Timer0A_IRQHandler);
WEAK_HANDLER(Timer0B_IRQHandler);
WEAK_HANDLER(Timer1A_IRQHandler);
WEAK_HANDLER(Timer1B_IRQHandler);
WEAK_HANDLER(Timer2A_IRQHandler);
WEAK_HANDLER(Timer2B_IRQHandler);
WEAK_HANDLER(Comp0_IRQHandler);
WEAK_HANDLER(Comp1_IRQHandler);
WEAK_HANDLER(SysCtl_IRQHandler);
WEAK_HANDLER(Flash_IRQHandler);
WEAK_HANDLER(GPIOF_IRQHandler);
WEAK_HANDLER(GPIOG_IRQHandler);
WEAK_HANDLER(UART2_IRQHandler);
WEAK_HANDLER(Timer3A_IRQHandler);
WEAK_HANDLER(Timer3B_IRQHandler);
WEAK_HANDLER(I2C1_IRQHandler);
WEAK_HANDLER(QEI1_IRQHandler);
WEAK_HANDLER(Ethernet_IRQHandler);
WEAK_HANDLER(Hibernate_IRQHandler);

typedef void (*handler_fn)(void);

/* initial SP, then 15 system exceptions and the LM3S6965's 44 interrupts */
struct vector_table {
	uint32_t *sp;
	handler_fn vec[15 + 44];
};

__attribute__((section(".isr_vector"), used))
static const struct vector_table vectors = {
	.sp = __stack_top,
	.vec = {
		Reset_Handler,
		NMI_Handler,
		HardFault_Handler,
		MemManage_Handler,
		BusFault_Handler,
		UsageFault_Handler,
		0, 0, 0, 0,
		SVC_Handler,
		DebugMon_Handler,
		0,
		PendSV_Handler,
		SysTick_Handler,
		/* external interrupts 0..43; unused numbers keep the default */
		GPIOA_IRQHandler, GPIOB_IRQHandler, GPIOC_IRQHandler,
		GPIOD_IRQHandler, GPIOE_IRQHandler, UART0_IRQHandler,
		UART1_IRQHandler, SSI0_IRQHandler, I2C0_IRQHandler,
		PWMFault_IRQHandler, PWMGen0_IRQHandler, PWMGen1_IRQHandler,
		PWMGen2_IRQHandler, QEI0_IRQHandler, ADCSeq0_IRQHandler,
		ADCSeq1_IRQHandler, ADCSeq2_IRQHandler, ADCSeq3_IRQHandler,
		Watchdog_IRQHandler, Timer0A_IRQHandler, Timer0B_IRQHandler,
		Timer1A_IRQHandler, Timer1B_IRQHandler, Timer2A_IRQHandler,
		Timer2B_IRQHandler, Comp0_IRQHandler, Comp1_IRQHandler,
		Default_Handler /* 27 */, SysCtl_IRQHandler, Flash_IRQHandler,
		GPIOF_IRQHandler, GPIOG_IRQHandler, Default_Handler /* 32 */,
		UART2_IRQHandler, Default_Handler /* 34 */, Timer3A_IRQHandler,
		Timer3B_IRQHandler, I2C1_IRQHandler, QEI1_IRQHandler,
		Default_Handler, Default_Handler, Default_Handler /* 39-41 */,
		Ethernet_IRQHandler, Hibernate_IRQHandler,
	},
};

_Static_assert(BOARD_IRQ_ETHERNET == 42, "Ethernet vector position");

static char *argv_store[ARGV_MAX + 1];

void Reset_Handler(void)
{
	volatile uint32_t *w;
	uint32_t *sp;
	void (*const *fn)(void);
	int argc;

	memcpy(__data_start, __data_source,
	       (size_t)((char *)__data_end - (char *)__data_start));
	memset(__bss_start, 0, (size_t)((char *)__bss_end - (char *)__bss_start));
	_init_tls(__tls_base);
	_set_tls(__tls_base);

	/* faults by their own name instead of all as HardFault */
	SCB_SHCSR |= SHCSR_FAULTS_ENA;
	SCB_CCR |= CCR_DIV_0_TRP;

	/* an inline loop (no call) so nothing lives below sp while painting */
	__asm__ volatile("mov %0, sp" : "=r"(sp));
	for (w = __stack_limit; w < (volatile uint32_t *)sp; w++)
		*w = STACK_PAINT;

	/*
	 * QEMU answers stray reads with 0 and ignores stray writes, so make
	 * the two common wild accesses fault: a stack overflow (the lowest
	 * STACK_GUARD bytes of the stack) and NULL plus small offsets (the
	 * first 256 bytes; the core's vector fetches bypass the MPU).
	 */
	MPU_RNR = 0;
	MPU_RBAR = (uint32_t)(uintptr_t)__stack_limit;
	MPU_RASR = RASR_GUARD(5);
	MPU_RNR = 1;
	MPU_RBAR = 0;
	MPU_RASR = RASR_GUARD(8);
	MPU_CTRL = MPU_ENABLE | MPU_PRIVDEFENA;
	__asm__ volatile("dsb\n\tisb" : : : "memory");

	/* the console first, so constructors may print */
	board_init();
	for (fn = __preinit_array_start; fn < __preinit_array_end; fn++)
		(*fn)();
	for (fn = __init_array_start; fn < __init_array_end; fn++)
		(*fn)();
	argc = board_cmdline(argv_store, ARGV_MAX);
	argv_store[argc] = NULL;
	board_exit(main(argc, argv_store));
}

size_t board_stack_peak(void)
{
	const uint32_t *w = __stack_limit + STACK_GUARD / 4;

	while (w < __stack_top && *w == STACK_PAINT)
		w++;
	return (size_t)((const char *)__stack_top - (const char *)w);
}

/* ---- exceptions -------------------------------------------------------- */

static void put_str(const char *s)
{
	board_console_write(s, strlen(s));
}

static void put_hex(const char *label, uint32_t v)
{
	char buf[11];
	int i;

	buf[0] = '0';
	buf[1] = 'x';
	for (i = 0; i < 8; i++)
		buf[2 + i] = "0123456789abcdef"[(v >> (28 - 4 * i)) & 0xf];
	buf[10] = '\0';
	put_str(label);
	put_str(buf);
}

static void put_dec(uint32_t v)
{
	char buf[11];
	int i = sizeof(buf) - 1;

	buf[i] = '\0';
	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put_str(&buf[i]);
}

static const char *const fault_names[] = {
	[2] = "NMI", [3] = "HardFault", [4] = "MemManage", [5] = "BusFault",
	[6] = "UsageFault",
};

/*
 * sp is where the core stacked r0-r3, r12, lr, pc, xpsr. It is only read
 * when the stacking worked and sp lies in the stack: a fault may come from
 * an overflow or a wild stack pointer.
 */
__attribute__((used, noreturn))
static void exception_report(const uint32_t *sp, uint32_t exc_return)
{
	uint32_t ipsr;

	__asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
	ipsr &= 0x1ff;
	if (ipsr < 2 || ipsr > 6) {
		put_str("\nUNEXPECTED ");
		if (ipsr >= 16) {
			put_str("IRQ ");
			put_dec(ipsr - 16);
		} else {
			put_str("exception ");
			put_dec(ipsr);
		}
		put_str("\n");
		board_exit(71);
	}
	put_str("\nFAULT: ");
	put_str(fault_names[ipsr]);
	if (sp < __stack_limit + STACK_GUARD / 4)
		put_str(" stack overflow");
	else if (sp + 8 <= __stack_top && !(SCB_CFSR & CFSR_STKERR)) {
		put_hex(" pc=", sp[6]);
		put_hex(" lr=", sp[5]);
		put_hex(" xpsr=", sp[7]);
	}
	put_hex(" sp=", (uint32_t)(uintptr_t)sp);
	put_hex(" exc_return=", exc_return);
	put_hex(" cfsr=", SCB_CFSR);
	put_hex(" hfsr=", SCB_HFSR);
	put_hex(" mmfar=", SCB_MMFAR);
	put_hex(" bfar=", SCB_BFAR);
	put_str("\n");
	board_exit(70);
}

/*
 * Without touching the stack (it may be what overflowed): turn the MPU
 * off, so the report may use the stack below the guard, and find the
 * frame (MSP or PSP by EXC_RETURN bit 2).
 */
static void Default_Handler(void)
{
	__asm__ volatile(
		"movw r2, #0xED94\n\t"
		"movt r2, #0xE000\n\t"
		"movs r3, #0\n\t"
		"str r3, [r2]\n\t"
		"dsb\n\t"
		"isb\n\t"
		"tst lr, #4\n\t"
		"ite eq\n\t"
		"mrseq r0, msp\n\t"
		"mrsne r0, psp\n\t"
		"mov r1, lr\n\t"
		"b exception_report\n\t");
}
