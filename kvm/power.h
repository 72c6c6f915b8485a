/* power: the platform's ACPI power registers (hardware-reduced ACPI): the FADT's sleep
 * control and status registers and its reset register (ports PORT_ACPI_*), and the
 * Generic Event Device (LAYOUT_GED, IRQ_GED) whose event bit 0 is the power button.
 * Writing SLP_TYP=S5 with SLP_EN powers the VM off (exit 0); the reset value asks for a
 * reboot in the same process. Everything runs on the owning engine. */
#ifndef RV_POWER_H
#define RV_POWER_H

#include "bus.h"
#include "irqfd.h"
#include "vm.h"

#define GED_EVENT_POWER_BUTTON 1u
#define ACPI_SLP_EN 0x20u

struct power {
	struct vm *vm;
	struct irq_line ged_irq;
	uint32_t ged_events;    /* pending events; reading the register clears them */
};

extern const struct bus_ops power_port_ops, power_ged_ops;

int power_create(struct power *p, struct vm *vm, struct engine *e);
void power_destroy(struct power *p);
/* On the engine: press the power button (set the GED event, raise its interrupt). */
void power_button(struct power *p);

#endif
