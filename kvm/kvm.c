/* kvm: /dev/kvm and VM creation. See kvm.h. */
#include "kvm.h"

#include "engine/log.h"
#include "ioctl_retry.h"
#include "layout.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const struct kvm_required_cap kvm_required_caps[] = {
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY", "guest RAM from the VMM's memory" },
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP", "the in-kernel interrupt controllers" },
	{ KVM_CAP_PIT2, "KVM_CAP_PIT2", "the in-kernel timer" },
	{ KVM_CAP_IRQFD, "KVM_CAP_IRQFD", "interrupts written from the ring" },
	{ KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD", "virtqueue kicks without a userspace exit" },
	{ KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING", "MSI routing" },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID", "the guest's CPUID" },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT", "stopping vCPUs without races" },
	{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR", "x86 real-mode support" },
	{ KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE", "bringing up secondary vCPUs" },
};
const unsigned kvm_n_required_caps = sizeof(kvm_required_caps) / sizeof(kvm_required_caps[0]);

const struct kvm_required_cap *kvm_missing_cap(int (*has)(void *ctx, int cap), void *ctx)
{
	for (unsigned i = 0; i < kvm_n_required_caps; i++)
		if (has(ctx, kvm_required_caps[i].cap) <= 0)
			return &kvm_required_caps[i];
	return NULL;
}

static int sys_has_cap(void *ctx, int cap)
{
	return kvm_ioctl(*(int *)ctx, KVM_CHECK_EXTENSION, cap);
}

static unsigned host_phys_bits(void)
{
	unsigned eax, ebx, ecx, edx;
	__asm__ volatile("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx) : "a"(0x80000000u), "c"(0));
	if (eax < 0x80000008u)
		return 36;
	__asm__ volatile("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx) : "a"(0x80000008u), "c"(0));
	return eax & 0xff;
}

static int load_msr_list(struct kvm *k)
{
	struct kvm_msr_list probe = { .nmsrs = 0 };

	if (kvm_ioctl(k->sys_fd, KVM_GET_MSR_INDEX_LIST, &probe) < 0 && errno != E2BIG)
		return -errno;
	k->msr_list = calloc(1, sizeof(*k->msr_list) + probe.nmsrs * sizeof(uint32_t));
	if (!k->msr_list)
		return -ENOMEM;
	k->msr_list->nmsrs = probe.nmsrs;
	if (kvm_ioctl(k->sys_fd, KVM_GET_MSR_INDEX_LIST, k->msr_list) < 0)
		return -errno;
	return 0;
}

static int load_supported_cpuid(struct kvm *k)
{
	for (unsigned n = 64; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(struct kvm_cpuid_entry2));
		if (!c)
			return -ENOMEM;
		c->nent = n;
		if (kvm_ioctl(k->sys_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			k->supported_cpuid = c;
			return 0;
		}
		int err = errno;
		free(c);
		if (err != E2BIG)
			return -err;
	}
	return -E2BIG;
}

int kvm_open(struct kvm *k)
{
	const char *dev = getenv("RINGVISOR_KVM_DEVICE");
	const struct kvm_required_cap *missing;
	int ret;

	memset(k, 0, sizeof(*k));
	k->vm_fd = -1;
	if (!dev || !*dev)
		dev = "/dev/kvm";
	k->sys_fd = open(dev, O_RDWR | O_CLOEXEC);
	if (k->sys_fd < 0) {
		int err = errno;
		if (err == ENOENT)
			log_error("%s does not exist: this host has no KVM (load kvm_intel/kvm_amd, or enable "
				  "nested virtualization for this VM)", dev);
		else if (err == EACCES || err == EPERM)
			log_error("no permission to open %s: add this user to the 'kvm' group or run as root", dev);
		else
			log_error("cannot open %s: %s", dev, strerror(err));
		return -err;
	}
	ret = kvm_ioctl(k->sys_fd, KVM_GET_API_VERSION, 0);
	if (ret != KVM_API_VERSION) {
		log_error("%s is not a usable KVM device (API version %d, expected %d)", dev, ret, KVM_API_VERSION);
		kvm_close(k);
		return -ENOTSUP;
	}
	missing = kvm_missing_cap(sys_has_cap, &k->sys_fd);
	if (missing) {
		log_error("KVM on this host lacks %s, which ringvisor needs for %s", missing->name, missing->why);
		kvm_close(k);
		return -ENOTSUP;
	}
	k->run_size = kvm_ioctl(k->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	k->max_vcpus = kvm_ioctl(k->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (k->max_vcpus <= 0)
		k->max_vcpus = kvm_ioctl(k->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	if (k->max_vcpus <= 0)
		k->max_vcpus = 4;
	k->phys_bits = host_phys_bits();
	if ((ret = load_msr_list(k)) < 0 || (ret = load_supported_cpuid(k)) < 0) {
		log_error("KVM would not list its MSRs and CPUID features: %s", strerror(-ret));
		kvm_close(k);
		return ret;
	}
	return 0;
}

int kvm_create_vm(struct kvm *k)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };

	k->vm_fd = kvm_ioctl(k->sys_fd, KVM_CREATE_VM, 0);
	if (k->vm_fd < 0) {
		int err = errno;
		log_error("KVM_CREATE_VM failed: %s", strerror(err));
		return -err;
	}
	/* Three pages just below the BIOS area for VMX's real-mode TSS; harmless elsewhere. */
	if (kvm_ioctl(k->vm_fd, KVM_SET_TSS_ADDR, 0xfffbd000ul) < 0)
		log_debug("KVM_SET_TSS_ADDR: %s (ignored)", strerror(errno));
	if (kvm_ioctl(k->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		int err = errno;
		log_error("cannot create the in-kernel irqchip (KVM_CREATE_IRQCHIP): %s", strerror(err));
		return -err;
	}
	if (kvm_ioctl(k->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		int err = errno;
		log_error("cannot create the in-kernel PIT (KVM_CREATE_PIT2): %s", strerror(err));
		return -err;
	}
	return 0;
}

int kvm_add_memory(struct kvm *k, const struct guest_mem *m)
{
	for (unsigned i = 0; i < m->n_regions; i++) {
		const struct guest_region *r = &m->regions[i];
		struct kvm_userspace_memory_region reg = {
			.slot = i,
			.guest_phys_addr = r->gpa,
			.memory_size = r->size,
			.userspace_addr = (uint64_t)(uintptr_t)r->hva,
		};
		if (kvm_ioctl(k->vm_fd, KVM_SET_USER_MEMORY_REGION, &reg) < 0) {
			int err = errno;
			log_error("cannot give guest RAM 0x%llx+%llu MiB to KVM: %s", (unsigned long long)r->gpa,
				  (unsigned long long)(r->size >> 20), strerror(err));
			return -err;
		}
	}
	return 0;
}

bool kvm_msr_listed(const struct kvm *k, uint32_t index)
{
	for (uint32_t i = 0; k->msr_list && i < k->msr_list->nmsrs; i++)
		if (k->msr_list->indices[i] == index)
			return true;
	return false;
}

void kvm_close(struct kvm *k)
{
	if (k->vm_fd >= 0)
		close(k->vm_fd);
	if (k->sys_fd >= 0)
		close(k->sys_fd);
	free(k->msr_list);
	free(k->supported_cpuid);
	k->vm_fd = k->sys_fd = -1;
	k->msr_list = NULL;
	k->supported_cpuid = NULL;
}
