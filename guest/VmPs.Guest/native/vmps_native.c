/*
 * The parts of the guest that must not run managed code: the child side of fork (only
 * async-signal-safe calls are allowed between fork and execve in a multithreaded process),
 * AF_VSOCK sockets (no managed address type), a few ioctls and syscalls without a libc wrapper, and the
 * metadata service's network namespace (a per-thread namespace switch that managed threads must never see).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <pthread.h>
#include <sched.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <net/route.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <linux/random.h>
#include <linux/vm_sockets.h>

#include "vmps_native.h"

static void report_and_exit(int fd, int step)
{
    int report[2] = { step, errno };
    ssize_t ignored = write(fd, report, sizeof report);
    (void)ignored;
    _exit(127);
}

static void mark_fds_cloexec_from(int first)
{
    if (syscall(SYS_close_range, (unsigned)first, ~0U, 4 /* CLOSE_RANGE_CLOEXEC */) == 0)
        return;
    for (int fd = first; fd < 4096; fd++)
        fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static void run_child(const vmps_spawn_args *args, int error_fd)
{
    struct sigaction default_action;
    memset(&default_action, 0, sizeof default_action);
    default_action.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            sigaction(sig, &default_action, NULL);

    if (args->new_session && setsid() < 0)
        report_and_exit(error_fd, VMPS_STEP_SETSID);

    int fds[3] = { args->stdin_fd, args->stdout_fd, args->stderr_fd };
    for (int target = 0; target < 3; target++) {
        if (fds[target] == target) {
            int flags = fcntl(target, F_GETFD);
            if (flags < 0 || fcntl(target, F_SETFD, flags & ~FD_CLOEXEC) < 0)
                report_and_exit(error_fd, VMPS_STEP_FDS);
        } else if (dup2(fds[target], target) < 0) {
            report_and_exit(error_fd, VMPS_STEP_FDS);
        }
    }
    mark_fds_cloexec_from(3);

    if (args->controlling_tty && ioctl(0, TIOCSCTTY, 0) < 0)
        report_and_exit(error_fd, VMPS_STEP_CTTY);

    if (args->set_ids) {
        if (setgroups((size_t)args->group_count, (const gid_t *)args->groups) < 0)
            report_and_exit(error_fd, VMPS_STEP_GROUPS);
        if (setgid(args->gid) < 0)
            report_and_exit(error_fd, VMPS_STEP_GID);
        if (setuid(args->uid) < 0)
            report_and_exit(error_fd, VMPS_STEP_UID);
    }

    if (args->cwd != NULL && chdir(args->cwd) < 0)
        report_and_exit(error_fd, VMPS_STEP_CHDIR);

    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);

    execve(args->path, args->argv, args->envp);
    report_and_exit(error_fd, VMPS_STEP_EXEC);
}

int vmps_spawn(const vmps_spawn_args *args, int *failed_step)
{
    *failed_step = 0;
    int error_pipe[2];
    if (pipe2(error_pipe, O_CLOEXEC) < 0)
        return -errno;

    /* Blocked until the child has reset dispositions, so no runtime signal handler runs in the child. */
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    pid_t pid = fork();
    if (pid == 0)
        run_child(args, error_pipe[1]);
    int fork_errno = errno;
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    close(error_pipe[1]);
    if (pid < 0) {
        close(error_pipe[0]);
        return -fork_errno;
    }

    int report[2];
    ssize_t got;
    do
        got = read(error_pipe[0], report, sizeof report);
    while (got < 0 && errno == EINTR);
    close(error_pipe[0]);
    if (got == (ssize_t)sizeof report) {
        *failed_step = report[0];
        return -report[1];
    }
    return pid;
}

int vmps_vsock_listen(uint32_t port)
{
    int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct sockaddr_vm address;
    memset(&address, 0, sizeof address);
    address.svm_family = AF_VSOCK;
    address.svm_cid = VMADDR_CID_ANY;
    address.svm_port = port;
    if (bind(fd, (struct sockaddr *)&address, sizeof address) < 0 || listen(fd, 64) < 0) {
        int error = errno;
        close(fd);
        return -error;
    }
    return fd;
}

int vmps_accept(int listen_fd)
{
    int fd;
    do
        fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    return fd < 0 ? -errno : fd;
}

int vmps_link_up(const char *name)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct ifreq request;
    memset(&request, 0, sizeof request);
    strncpy(request.ifr_name, name, IFNAMSIZ - 1);
    int result = 0;
    if (ioctl(fd, SIOCGIFFLAGS, &request) < 0) {
        result = -errno;
    } else {
        request.ifr_flags |= IFF_UP;
        if (ioctl(fd, SIOCSIFFLAGS, &request) < 0)
            result = -errno;
    }
    close(fd);
    return result;
}

int vmps_load_module(int fd)
{
    return syscall(SYS_finit_module, fd, "", 0) < 0 ? -errno : 0;
}

int vmps_open_pty(uint16_t columns, uint16_t rows, int *master_fd, int *slave_fd)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0)
        return -errno;
    /* TIOCGPTPEER opens the slave through the master: no /dev/pts path lookup, no pt_chown. */
    int slave = -1;
    if (unlockpt(master) < 0 || (slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
        int error = errno;
        close(master);
        return -error;
    }
    struct winsize size = { .ws_row = rows, .ws_col = columns };
    if (ioctl(master, TIOCSWINSZ, &size) < 0) {
        int error = errno;
        close(slave);
        close(master);
        return -error;
    }
    *master_fd = master;
    *slave_fd = slave;
    return 0;
}

int vmps_set_window_size(int fd, uint16_t columns, uint16_t rows)
{
    struct winsize size = { .ws_row = rows, .ws_col = columns };
    return ioctl(fd, TIOCSWINSZ, &size) < 0 ? -errno : 0;
}

int vmps_set_realtime(int64_t seconds, int64_t nanoseconds)
{
    struct timespec now = { .tv_sec = seconds, .tv_nsec = nanoseconds };
    return clock_settime(CLOCK_REALTIME, &now) < 0 ? -errno : 0;
}

static void set_ipv4_address(struct sockaddr *target, uint32_t address)
{
    struct sockaddr_in *in = (struct sockaddr_in *)target;
    memset(in, 0, sizeof *in);
    in->sin_family = AF_INET;
    in->sin_addr.s_addr = address;
}

static int interface_ioctl(int fd, const char *name, unsigned long request, struct ifreq *value)
{
    strncpy(value->ifr_name, name, IFNAMSIZ - 1);
    return ioctl(fd, request, value) < 0 ? -errno : 0;
}

/* MTU, then the (primary) address and its netmask, then up: the kernel adds the subnet's route itself. */
int vmps_set_ipv4(const char *name, uint32_t address, uint32_t netmask, int32_t mtu)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct ifreq request;
    memset(&request, 0, sizeof request);
    request.ifr_mtu = mtu;
    int result = interface_ioctl(fd, name, SIOCSIFMTU, &request);
    if (result == 0) {
        memset(&request, 0, sizeof request);
        set_ipv4_address(&request.ifr_addr, address);
        result = interface_ioctl(fd, name, SIOCSIFADDR, &request);
    }
    if (result == 0) {
        memset(&request, 0, sizeof request);
        set_ipv4_address(&request.ifr_netmask, netmask);
        result = interface_ioctl(fd, name, SIOCSIFNETMASK, &request);
    }
    if (result == 0) {
        memset(&request, 0, sizeof request);
        result = interface_ioctl(fd, name, SIOCGIFFLAGS, &request);
        if (result == 0) {
            request.ifr_flags |= IFF_UP;
            result = interface_ioctl(fd, name, SIOCSIFFLAGS, &request);
        }
    }
    close(fd);
    return result;
}

/* Gives the interface a new hardware address; virtio-net changes it while the link is up (IFF_LIVE_ADDR_CHANGE). */
int vmps_set_mac(const char *name, const uint8_t *mac)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct ifreq request;
    memset(&request, 0, sizeof request);
    request.ifr_hwaddr.sa_family = ARPHRD_ETHER;
    memcpy(request.ifr_hwaddr.sa_data, mac, 6);
    int result = interface_ioctl(fd, name, SIOCSIFHWADDR, &request);
    close(fd);
    return result;
}

/* Credits the bytes to the kernel's input pool (RNDADDENTROPY), then makes the CRNG reseed from it at once. */
int vmps_reseed_random(const uint8_t *bytes, int32_t length)
{
    if (length <= 0 || length > 512)
        return -EINVAL;
    struct {
        struct rand_pool_info info;
        uint8_t buffer[512];
    } entropy;
    entropy.info.entropy_count = length * 8;
    entropy.info.buf_size = length;
    memcpy(entropy.buffer, bytes, (size_t)length);
    int fd = open("/dev/urandom", O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int result = ioctl(fd, RNDADDENTROPY, &entropy) < 0 || ioctl(fd, RNDRESEEDCRNG) < 0 ? -errno : 0;
    close(fd);
    return result;
}

/* Replaces every IPv4 default route with one through gateway on name (none when gateway is 0). */
int vmps_set_default_route(const char *name, uint32_t gateway)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct rtentry route;
    memset(&route, 0, sizeof route);
    set_ipv4_address(&route.rt_dst, 0);
    set_ipv4_address(&route.rt_genmask, 0);
    while (ioctl(fd, SIOCDELRT, &route) == 0)
        ;
    int result = errno == ESRCH ? 0 : -errno;
    if (result == 0 && gateway != 0) {
        char device[IFNAMSIZ];
        memset(device, 0, sizeof device);
        strncpy(device, name, IFNAMSIZ - 1);
        set_ipv4_address(&route.rt_gateway, gateway);
        route.rt_flags = RTF_UP | RTF_GATEWAY;
        route.rt_dev = device;
        if (ioctl(fd, SIOCADDRT, &route) < 0)
            result = -errno;
    }
    close(fd);
    return result;
}

/* Appends a netlink attribute at *offset in buffer (capacity bytes); returns the attribute, or NULL when full. */
static struct rtattr *append_attribute(char *buffer, size_t capacity, size_t *offset, unsigned short type, const void *data, size_t length)
{
    size_t total = RTA_SPACE(length);
    if (*offset + total > capacity)
        return NULL;
    struct rtattr *attribute = (struct rtattr *)(buffer + *offset);
    attribute->rta_type = type;
    attribute->rta_len = RTA_LENGTH(length);
    if (length > 0)
        memcpy(RTA_DATA(attribute), data, length);
    *offset += total;
    return attribute;
}

/* Closes a nested attribute opened at start: its length covers everything appended since. */
static void close_nest(char *buffer, size_t start, size_t offset)
{
    ((struct rtattr *)(buffer + start))->rta_len = (unsigned short)(offset - start);
}

/*
 * Creates the veth pair name (in the namespace of the netlink socket rtnl) and peer_name (in the namespace of
 * the thread peer_tid). Netlink rather than ioctl: no ioctl creates a veth pair. Returns 0 or -errno.
 */
static int create_veth(int rtnl, const char *name, const char *peer_name, pid_t peer_tid)
{
    char message[512] __attribute__((aligned(NLMSG_ALIGNTO)));
    memset(message, 0, sizeof message);
    struct nlmsghdr *header = (struct nlmsghdr *)message;
    header->nlmsg_type = RTM_NEWLINK;
    header->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK;
    header->nlmsg_seq = 1;
    size_t offset = NLMSG_SPACE(sizeof(struct ifinfomsg));
    uint32_t tid = (uint32_t)peer_tid;
    struct ifinfomsg peer;
    memset(&peer, 0, sizeof peer);
    int complete = append_attribute(message, sizeof message, &offset, IFLA_IFNAME, name, strlen(name) + 1) != NULL;
    size_t link_info = offset;
    complete = complete && append_attribute(message, sizeof message, &offset, IFLA_LINKINFO, NULL, 0) != NULL;
    complete = complete && append_attribute(message, sizeof message, &offset, IFLA_INFO_KIND, "veth", 5) != NULL;
    size_t info_data = offset;
    complete = complete && append_attribute(message, sizeof message, &offset, IFLA_INFO_DATA, NULL, 0) != NULL;
    size_t peer_info = offset;
    complete = complete && append_attribute(message, sizeof message, &offset, VETH_INFO_PEER, &peer, sizeof peer) != NULL;
    complete = complete && append_attribute(message, sizeof message, &offset, IFLA_IFNAME, peer_name, strlen(peer_name) + 1) != NULL;
    complete = complete && append_attribute(message, sizeof message, &offset, IFLA_NET_NS_PID, &tid, sizeof tid) != NULL;
    if (!complete)
        return -ENOBUFS;
    close_nest(message, peer_info, offset);
    close_nest(message, info_data, offset);
    close_nest(message, link_info, offset);
    header->nlmsg_len = (uint32_t)offset;

    struct sockaddr_nl kernel;
    memset(&kernel, 0, sizeof kernel);
    kernel.nl_family = AF_NETLINK;
    if (sendto(rtnl, message, offset, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0)
        return -errno;
    char reply[1024] __attribute__((aligned(NLMSG_ALIGNTO)));
    ssize_t length;
    do
        length = recv(rtnl, reply, sizeof reply, 0);
    while (length < 0 && errno == EINTR);
    if (length < 0)
        return -errno;
    struct nlmsghdr *answer = (struct nlmsghdr *)reply;
    if (!NLMSG_OK(answer, (size_t)length) || answer->nlmsg_type != NLMSG_ERROR
        || answer->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr)))
        return -EPROTO;
    return ((struct nlmsgerr *)NLMSG_DATA(answer))->error;
}

typedef struct {
    const char *link;
    const char *peer;
    uint32_t peer_address;
    uint32_t netmask;
    uint16_t port;
    int result;
    int failed_step;
} isolated_listener;

static int fail(isolated_listener *request, int step, int error)
{
    request->failed_step = step;
    request->result = error;
    return error;
}

/* Runs on a thread of its own, which alone enters the new namespace and ends with it. */
static void *listen_isolated(void *argument)
{
    isolated_listener *request = argument;
    /* Opened before the switch, so the link is created in the caller's namespace. */
    int rtnl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (rtnl < 0) {
        fail(request, VMPS_ISOLATED_NAMESPACE, -errno);
        return NULL;
    }
    if (unshare(CLONE_NEWNET) < 0) {
        fail(request, VMPS_ISOLATED_NAMESPACE, -errno);
        close(rtnl);
        return NULL;
    }
    int result = create_veth(rtnl, request->link, request->peer, (pid_t)syscall(SYS_gettid));
    close(rtnl);
    if (result < 0) {
        fail(request, VMPS_ISOLATED_VETH, result);
        return NULL;
    }
    result = vmps_link_up("lo");
    if (result == 0)
        result = vmps_set_ipv4(request->peer, request->peer_address, request->netmask, 1500);
    if (result < 0) {
        fail(request, VMPS_ISOLATED_ADDRESS, result);
        return NULL;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fail(request, VMPS_ISOLATED_LISTEN, -errno);
        return NULL;
    }
    int on = 1;
    struct sockaddr_in address;
    memset(&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_port = htons(request->port);
    address.sin_addr.s_addr = request->peer_address;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0
        || bind(fd, (struct sockaddr *)&address, sizeof address) < 0
        || listen(fd, SOMAXCONN) < 0) {
        fail(request, VMPS_ISOLATED_LISTEN, -errno);
        close(fd);
        return NULL;
    }
    request->result = fd;
    return NULL;
}

int vmps_listen_isolated(const char *link, const char *peer, uint32_t link_address, uint32_t peer_address,
                         uint32_t netmask, uint16_t port, int *failed_step)
{
    isolated_listener request = { link, peer, peer_address, netmask, port, -EINVAL, 0 };
    pthread_t thread;
    int error = pthread_create(&thread, NULL, listen_isolated, &request);
    if (error != 0) {
        *failed_step = VMPS_ISOLATED_NAMESPACE;
        return -error;
    }
    pthread_join(thread, NULL);
    if (request.result >= 0) {
        int result = vmps_set_ipv4(link, link_address, netmask, 1500);
        if (result < 0) {
            close(request.result);
            fail(&request, VMPS_ISOLATED_LINK_ADDRESS, result);
        }
    }
    *failed_step = request.failed_step;
    return request.result;
}
