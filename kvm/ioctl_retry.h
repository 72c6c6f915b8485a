/* kvm_ioctl: an ioctl on a KVM file descriptor, repeated while the kernel answers EINTR.
 * Creating a VM registers an MMU notifier, which gives up with EINTR when any signal is
 * pending for the thread (seen as "KVM_CREATE_VM failed: Interrupted system call" under
 * nested SVM in the KVM lab); vCPU creation and the other set-up calls may do the same, and
 * each is safe to repeat. Not for KVM_RUN, whose EINTR is how a vCPU learns of a signal. */
#ifndef RV_KVM_IOCTL_RETRY_H
#define RV_KVM_IOCTL_RETRY_H

/* ioctl(fd, req, arg) until it does not fail with EINTR (at most a few thousand times). */
int kvm_ioctl_retry(int fd, unsigned long req, unsigned long arg);
#define kvm_ioctl(fd, req, arg) kvm_ioctl_retry((fd), (req), (unsigned long)(arg))

#endif
