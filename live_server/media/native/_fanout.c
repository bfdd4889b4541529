/* The per-frame fan-out send loop in C: one call sends one frame to every viewer of a hub.
 *
 * For each viewer (a SendState) it writes the RTP header from the viewer's template
 * (SSRC, sequence number, timestamp, payload type, marker, MID and abs-send-time
 * extensions), protects the packet with srtp_protect() of the libsrtp that pylibsrtp
 * bundles, on the srtp_t that aiortc's DTLS handshake created (so one SRTP context and
 * rollover counter per viewer, keys exactly as aiortc derived them), keeps the plain
 * payload in the viewer's 128-packet retransmission history, and sends the viewer's
 * datagrams with one sendmmsg() (runs of equal-sized datagrams as one UDP GSO message).
 * Then it updates the counters aiortc's RTCP sender reports and stats read. A viewer that
 * moved to another simulcast layer has its VP8 picture IDs shifted too (pid_shift), so its
 * picture IDs go on by one across the move like its sequence numbers and timestamps.
 *
 * No cryptography here: the srtp_protect function pointer comes from pylibsrtp's cffi
 * library (configure()), its signature checked on the Python side (live_server.media.native).
 * The GIL is released while packets are protected and sent.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103 /* linux/udp.h, Linux >= 4.18 */
#endif

#define HISTORY_SIZE 128 /* aiortc.rtp.RTP_HISTORY_SIZE */
#define MAX_HEADER 128
#define SRTP_TRAILER 144 /* SRTP_MAX_TAG_LEN + SRTP_MAX_MKI_LEN, as pylibsrtp reserves */
#define GSO_MAX_SEGMENTS 64
#define GSO_MAX_BYTES 65000

/* send_frame statuses (the same numbers as live_server.media.aiortc.fastpath) */
#define ST_SENT 0
#define ST_NOT_CONNECTED 1
#define ST_WOULD_BLOCK 2
#define ST_PROTECT_FAILED 3

/* srtp_err_status_t srtp_protect(srtp_t ctx, void *rtp_hdr, int *len_ptr) (libsrtp 2.x) */
typedef int (*protect_fn)(void *ctx, void *rtp_hdr, int *len_ptr);
static protect_fn srtp_protect_ptr = NULL;

static PyObject *name_ntp, *name_rtp_ts, *name_octets, *name_packets, *name_tx_bytes,
    *name_tx_packets;

typedef struct {
    uint16_t seq;
    uint32_t ts;
    uint8_t marker;
    uint16_t pid_shift; /* the picture ID shift it was sent with */
    PyObject *payload;  /* bytes as packetised (unshifted), owned; NULL when empty */
} Entry;

typedef struct {
    PyObject_HEAD
    uint8_t header[MAX_HEADER];
    int header_len;
    int abs_at; /* offset of the 3-byte abs-send-time value, -1 without it */
    int payload_type;
    uint16_t seq;
    uint32_t ts_origin;
    uint16_t pid_shift; /* added to VP8 picture IDs (15 bits), 0: payloads as they are */
    void *srtp;
    PyObject *session; /* the pylibsrtp Session owning srtp: keeps it alive */
    PyObject *sender;
    PyObject *dtls;
    int fd;
    struct sockaddr_storage addr;
    socklen_t addr_len;
    int gso;
    unsigned long long packets_sent;
    unsigned long long gso_sends;
    Entry history[HISTORY_SIZE];
} SendState;

/* A VP8 payload descriptor with a 15-bit picture ID (RFC 7741: the X, I and M bits set,
 * the only form aiortc's packetiser writes) gets its ID moved by `shift`, modulo 2^15;
 * any other payload stays as it is. */
static inline void shift_picture_id(uint8_t *payload, Py_ssize_t len, uint16_t shift) {
    if (shift == 0 || len < 4 || !(payload[0] & 0x80) || !(payload[1] & 0x80) ||
        !(payload[2] & 0x80)) {
        return;
    }
    uint16_t id = (uint16_t)(((((payload[2] & 0x7F) << 8) | payload[3]) + shift) & 0x7FFF);
    payload[2] = (uint8_t)(0x80 | (id >> 8));
    payload[3] = (uint8_t)id;
}

static void clear_history(SendState *self) {
    for (int i = 0; i < HISTORY_SIZE; i++) {
        Py_CLEAR(self->history[i].payload);
    }
}

static int SendState_init(SendState *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"header",  "abs_at", "payload_type", "seq",  "ts_origin",
                             "session", "srtp",   "sender",       "dtls", NULL};
    Py_buffer header;
    int abs_at, pt;
    unsigned int seq;
    unsigned long ts_origin;
    unsigned long long srtp;
    PyObject *session, *sender, *dtls;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "y*iiIkOKOO", kwlist, &header, &abs_at, &pt,
                                     &seq, &ts_origin, &session, &srtp, &sender, &dtls)) {
        return -1;
    }
    if (header.len < 12 || header.len > MAX_HEADER || abs_at > header.len - 3 || pt < 0 ||
        pt > 127 || srtp == 0) {
        PyBuffer_Release(&header);
        PyErr_SetString(PyExc_ValueError, "bad RTP header template or SRTP context");
        return -1;
    }
    memcpy(self->header, header.buf, header.len);
    self->header_len = (int)header.len;
    PyBuffer_Release(&header);
    self->abs_at = abs_at > 0 ? abs_at : -1;
    self->payload_type = pt;
    self->seq = (uint16_t)seq;
    self->ts_origin = (uint32_t)ts_origin;
    self->srtp = (void *)(uintptr_t)srtp;
    Py_INCREF(session);
    Py_XSETREF(self->session, session);
    Py_INCREF(sender);
    Py_XSETREF(self->sender, sender);
    Py_INCREF(dtls);
    Py_XSETREF(self->dtls, dtls);
    self->fd = -1;
    self->addr_len = 0;
    self->gso = 1;
    return 0;
}

static int SendState_traverse(SendState *self, visitproc visit, void *arg) {
    Py_VISIT(self->session);
    Py_VISIT(self->sender);
    Py_VISIT(self->dtls);
    return 0;
}

static int SendState_clear(SendState *self) {
    Py_CLEAR(self->session);
    Py_CLEAR(self->sender);
    Py_CLEAR(self->dtls);
    clear_history(self);
    return 0;
}

static void SendState_dealloc(SendState *self) {
    PyObject_GC_UnTrack(self);
    SendState_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *SendState_set_destination(SendState *self, PyObject *args) {
    int fd, port;
    const char *host;
    if (!PyArg_ParseTuple(args, "isi", &fd, &host, &port)) {
        return NULL;
    }
    if (fd < 0) {
        self->fd = -1;
        Py_RETURN_NONE;
    }
    if (port < 0 || port > 65535) {
        PyErr_SetString(PyExc_ValueError, "bad port");
        return NULL;
    }
    memset(&self->addr, 0, sizeof(self->addr));
    if (host[0] == '\0') { /* a connected socket: no address per datagram */
        self->addr_len = 0;
        self->fd = fd;
        Py_RETURN_NONE;
    }
    struct sockaddr_in *v4 = (struct sockaddr_in *)&self->addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&self->addr;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        self->addr_len = sizeof(*v4);
    } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        self->addr_len = sizeof(*v6);
    } else {
        PyErr_Format(PyExc_ValueError, "not a numeric address: %s", host);
        return NULL;
    }
    self->fd = fd;
    Py_RETURN_NONE;
}

static PyObject *SendState_entry(SendState *self, PyObject *arg) {
    long seq = PyLong_AsLong(arg);
    if (seq == -1 && PyErr_Occurred()) {
        return NULL;
    }
    Entry *e = &self->history[seq & (HISTORY_SIZE - 1)];
    if (e->payload == NULL || e->seq != (uint16_t)seq) {
        Py_RETURN_NONE;
    }
    if (e->pid_shift == 0) {
        return Py_BuildValue("(HkiO)", e->seq, (unsigned long)e->ts, (int)e->marker, e->payload);
    }
    /* what went out: the payload with the picture ID shift it was sent with */
    PyObject *sent = PyBytes_FromStringAndSize(PyBytes_AS_STRING(e->payload),
                                               PyBytes_GET_SIZE(e->payload));
    if (sent == NULL) {
        return NULL;
    }
    shift_picture_id((uint8_t *)PyBytes_AS_STRING(sent), PyBytes_GET_SIZE(sent), e->pid_shift);
    return Py_BuildValue("(HkiN)", e->seq, (unsigned long)e->ts, (int)e->marker, sent);
}

static PyObject *SendState_close(SendState *self, PyObject *unused) {
    self->fd = -1;
    clear_history(self);
    Py_RETURN_NONE;
}

static PyObject *get_seq(SendState *self, void *c) { return PyLong_FromLong(self->seq); }

static int set_seq(SendState *self, PyObject *value, void *c) {
    long v = value ? PyLong_AsLong(value) : -1;
    if (v == -1 && PyErr_Occurred()) {
        return -1;
    }
    self->seq = (uint16_t)v;
    return 0;
}

static PyObject *get_ts_origin(SendState *self, void *c) {
    return PyLong_FromUnsignedLong(self->ts_origin);
}

static int set_ts_origin(SendState *self, PyObject *value, void *c) {
    unsigned long v = value ? PyLong_AsUnsignedLongMask(value) : (unsigned long)-1;
    if (v == (unsigned long)-1 && PyErr_Occurred()) {
        return -1;
    }
    self->ts_origin = (uint32_t)v;
    return 0;
}

static PyObject *get_pid_shift(SendState *self, void *c) {
    return PyLong_FromLong(self->pid_shift);
}

static int set_pid_shift(SendState *self, PyObject *value, void *c) {
    long v = value ? PyLong_AsLong(value) : -1;
    if (v == -1 && PyErr_Occurred()) {
        return -1;
    }
    self->pid_shift = (uint16_t)(v & 0x7FFF);
    return 0;
}

static PyObject *get_gso(SendState *self, void *c) { return PyBool_FromLong(self->gso); }

static int set_gso(SendState *self, PyObject *value, void *c) {
    int v = value ? PyObject_IsTrue(value) : -1;
    if (v < 0) {
        return -1;
    }
    self->gso = v;
    return 0;
}

static PyObject *get_packets_sent(SendState *self, void *c) {
    return PyLong_FromUnsignedLongLong(self->packets_sent);
}

static PyObject *get_gso_sends(SendState *self, void *c) {
    return PyLong_FromUnsignedLongLong(self->gso_sends);
}

static PyObject *get_fd(SendState *self, void *c) { return PyLong_FromLong(self->fd); }

static PyGetSetDef SendState_getset[] = {
    {"seq", (getter)get_seq, (setter)set_seq, "next RTP sequence number", NULL},
    {"ts_origin", (getter)get_ts_origin, (setter)set_ts_origin,
     "added to a frame's timestamp (the history keeps each packet's own)", NULL},
    {"pid_shift", (getter)get_pid_shift, (setter)set_pid_shift,
     "added to VP8 picture IDs, modulo 2^15 (the history keeps each packet's own)", NULL},
    {"gso", (getter)get_gso, (setter)set_gso, "UDP GSO still in use", NULL},
    {"packets_sent", (getter)get_packets_sent, NULL, "RTP packets sent", NULL},
    {"gso_sends", (getter)get_gso_sends, NULL, "GSO messages sent", NULL},
    {"fd", (getter)get_fd, NULL, "socket descriptor (-1: none)", NULL},
    {NULL},
};

static PyMethodDef SendState_methods[] = {
    {"set_destination", (PyCFunction)SendState_set_destination, METH_VARARGS,
     "set_destination(fd, host, port): the socket and the viewer's address (fd -1: none;"
     " host '': the socket is connected)"},
    {"entry", (PyCFunction)SendState_entry, METH_O,
     "entry(seq) -> (seq, ts, marker, payload) from the history, or None"},
    {"close", (PyCFunction)SendState_close, METH_NOARGS, "forget the socket and the history"},
    {NULL},
};

static PyTypeObject SendStateType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "live_server.media.native._fanout.SendState",
    .tp_basicsize = sizeof(SendState),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "One viewer's RTP send state for the native fan-out loop.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)SendState_init,
    .tp_dealloc = (destructor)SendState_dealloc,
    .tp_traverse = (traverseproc)SendState_traverse,
    .tp_clear = (inquiry)SendState_clear,
    .tp_methods = SendState_methods,
    .tp_getset = SendState_getset,
};

/* ------------------------------------------------------------------------------------ */
/* scratch space, one per thread, grown as needed */

typedef struct {
    uint8_t *buf;
    size_t buf_size;
    struct iovec *iov;
    struct mmsghdr *msgs;
    int *first; /* index of each message's first packet */
    char *cmsgs;
    int *lens;
    size_t count;
} Scratch;

static _Thread_local Scratch scratch;

#define CMSG_SLOT CMSG_SPACE(sizeof(uint16_t))

static int scratch_reserve(size_t packets, size_t slot) {
    if (packets > scratch.count) {
        struct iovec *iov = realloc(scratch.iov, packets * sizeof(*iov));
        if (iov) scratch.iov = iov;
        struct mmsghdr *msgs = realloc(scratch.msgs, packets * sizeof(*msgs));
        if (msgs) scratch.msgs = msgs;
        int *first = realloc(scratch.first, packets * sizeof(int));
        if (first) scratch.first = first;
        char *cmsgs = realloc(scratch.cmsgs, packets * CMSG_SLOT);
        if (cmsgs) scratch.cmsgs = cmsgs;
        int *lens = realloc(scratch.lens, packets * sizeof(int));
        if (lens) scratch.lens = lens;
        if (!iov || !msgs || !first || !cmsgs || !lens) {
            return -1;
        }
        scratch.count = packets;
    }
    if (packets * slot > scratch.buf_size) {
        uint8_t *buf = realloc(scratch.buf, packets * slot);
        if (!buf) {
            return -1;
        }
        scratch.buf = buf;
        scratch.buf_size = packets * slot;
    }
    return 0;
}

/* Group datagrams [from, n) into messages m0, m0 + 1, ... (GSO runs when enabled);
 * returns the index after the last message. */
static int build_messages(SendState *st, int from, int n, size_t slot, int m0) {
    int m = m0;
    int i = from;
    while (i < n) {
        int size = scratch.lens[i];
        int j = i + 1;
        if (st->gso) {
            int limit = i + (GSO_MAX_BYTES / size < GSO_MAX_SEGMENTS ? GSO_MAX_BYTES / size
                                                                     : GSO_MAX_SEGMENTS);
            while (j < n && j < limit && scratch.lens[j] == size) j++;
            if (j < n && j < limit && scratch.lens[j] < size) j++; /* a shorter one may end it */
        }
        struct msghdr *h = &scratch.msgs[m].msg_hdr;
        memset(h, 0, sizeof(*h));
        h->msg_name = st->addr_len ? &st->addr : NULL;
        h->msg_namelen = st->addr_len;
        h->msg_iov = &scratch.iov[i];
        h->msg_iovlen = (size_t)(j - i);
        for (int k = i; k < j; k++) {
            scratch.iov[k].iov_base = scratch.buf + (size_t)k * slot;
            scratch.iov[k].iov_len = (size_t)scratch.lens[k];
        }
        if (j - i > 1) {
            char *c = scratch.cmsgs + (size_t)m * CMSG_SLOT;
            memset(c, 0, CMSG_SLOT);
            h->msg_control = c;
            h->msg_controllen = CMSG_SLOT;
            struct cmsghdr *cm = CMSG_FIRSTHDR(h);
            cm->cmsg_level = SOL_UDP;
            cm->cmsg_type = UDP_SEGMENT;
            cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
            uint16_t gso_size = (uint16_t)size;
            memcpy(CMSG_DATA(cm), &gso_size, sizeof(gso_size));
        }
        scratch.first[m] = i;
        m++;
        i = j;
    }
    return m;
}

static inline void put16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Protect and send one frame to one viewer (no GIL). Returns a status; *wire gets the
 * protected bytes. */
static int send_one(SendState *st, const char **data, const Py_ssize_t *sizes, int n,
                    uint32_t ts, uint64_t ntp, size_t slot, long long *wire) {
    *wire = 0;
    if (st->fd < 0) {
        return ST_NOT_CONNECTED;
    }
    uint8_t *header = st->header;
    int hlen = st->header_len;
    if (st->abs_at > 0) {
        uint32_t abs = (uint32_t)((ntp >> 14) & 0xFFFFFF);
        header[st->abs_at] = (uint8_t)(abs >> 16);
        header[st->abs_at + 1] = (uint8_t)(abs >> 8);
        header[st->abs_at + 2] = (uint8_t)abs;
    }
    put32(header + 4, ts);
    uint16_t seq = st->seq;
    for (int i = 0; i < n; i++) {
        uint8_t *p = scratch.buf + (size_t)i * slot;
        memcpy(p, header, (size_t)hlen);
        p[1] = (uint8_t)((i == n - 1 ? 0x80 : 0) | st->payload_type);
        put16(p + 2, seq);
        memcpy(p + hlen, data[i], (size_t)sizes[i]);
        shift_picture_id(p + hlen, sizes[i], st->pid_shift);
        int len = hlen + (int)sizes[i];
        if (srtp_protect_ptr(st->srtp, p, &len) != 0) {
            return ST_PROTECT_FAILED;
        }
        scratch.lens[i] = len;
        *wire += len;
        seq++;
    }
    int status = ST_SENT;
    int m = build_messages(st, 0, n, slot, 0);
    int sent = 0;
    while (sent < m) {
        int r = sendmmsg(st->fd, scratch.msgs + sent, (unsigned int)(m - sent), 0);
        if (r >= 0) {
            for (int k = sent; k < sent + r; k++) {
                if (scratch.msgs[k].msg_hdr.msg_iovlen > 1) st->gso_sends++;
            }
            sent += r;
            continue;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            status = ST_WOULD_BLOCK;
            break;
        }
        if (scratch.msgs[sent].msg_hdr.msg_iovlen > 1) {
            /* GSO refused (no kernel or device support): one datagram per packet from here */
            st->gso = 0;
            m = build_messages(st, scratch.first[sent], n, slot, sent);
            continue;
        }
        break; /* like asyncio: an ICMP error on UDP is not fatal; the frame is gone */
    }
    return status;
}

static int add_attr(PyObject *obj, PyObject *name, long long delta) {
    PyObject *old = PyObject_GetAttr(obj, name);
    if (old == NULL) return -1;
    PyObject *d = PyLong_FromLongLong(delta);
    if (d == NULL) {
        Py_DECREF(old);
        return -1;
    }
    PyObject *sum = PyNumber_Add(old, d);
    Py_DECREF(old);
    Py_DECREF(d);
    if (sum == NULL) return -1;
    int rc = PyObject_SetAttr(obj, name, sum);
    Py_DECREF(sum);
    return rc;
}

static int set_attr_u64(PyObject *obj, PyObject *name, unsigned long long value) {
    PyObject *v = PyLong_FromUnsignedLongLong(value);
    if (v == NULL) return -1;
    int rc = PyObject_SetAttr(obj, name, v);
    Py_DECREF(v);
    return rc;
}

static PyObject *fanout_send_frame(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "send_frame(payloads, timestamp, ntp, states)");
        return NULL;
    }
    PyObject *payloads = args[0], *states = args[3];
    if (!PyList_Check(payloads) || !PyList_Check(states)) {
        PyErr_SetString(PyExc_TypeError, "payloads and states must be lists");
        return NULL;
    }
    unsigned long timestamp = PyLong_AsUnsignedLongMask(args[1]);
    unsigned long long ntp = PyLong_AsUnsignedLongLongMask(args[2]);
    if (PyErr_Occurred()) return NULL;
    if (srtp_protect_ptr == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "configure() was not called");
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(payloads);
    Py_ssize_t v = PyList_GET_SIZE(states);
    if (n > 65535) {
        PyErr_SetString(PyExc_ValueError, "too many packets");
        return NULL;
    }
    PyObject *result = PyBytes_FromStringAndSize(NULL, v);
    if (result == NULL) return NULL;
    uint8_t *status = (uint8_t *)PyBytes_AS_STRING(result);
    PyObject **items = PyMem_Malloc(sizeof(PyObject *) * (size_t)(n + v + 1));
    const char **data = PyMem_Malloc(sizeof(char *) * (size_t)(n + 1));
    Py_ssize_t *sizes = PyMem_Malloc(sizeof(Py_ssize_t) * (size_t)(n + 1));
    long long *wire = PyMem_Malloc(sizeof(long long) * (size_t)(v + 1));
    if (!items || !data || !sizes || !wire) {
        PyErr_NoMemory();
        goto fail;
    }
    /* our own references: nothing we use can go away while the GIL is released */
    Py_ssize_t largest = 0;
    long long octets = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *p = PyList_GET_ITEM(payloads, i);
        if (!PyBytes_Check(p)) {
            for (Py_ssize_t k = 0; k < i; k++) Py_DECREF(items[k]);
            PyErr_SetString(PyExc_TypeError, "payloads must be bytes");
            goto fail;
        }
        Py_INCREF(p);
        items[i] = p;
        data[i] = PyBytes_AS_STRING(p);
        sizes[i] = PyBytes_GET_SIZE(p);
        octets += sizes[i];
        if (sizes[i] > largest) largest = sizes[i];
    }
    for (Py_ssize_t j = 0; j < v; j++) {
        PyObject *s = PyList_GET_ITEM(states, j);
        if (!PyObject_TypeCheck(s, &SendStateType)) {
            for (Py_ssize_t k = 0; k < n + j; k++) Py_DECREF(items[k]);
            PyErr_SetString(PyExc_TypeError, "states must be SendState objects");
            goto fail;
        }
        Py_INCREF(s);
        items[n + j] = s;
    }
    size_t slot = ((size_t)(MAX_HEADER + largest + SRTP_TRAILER) + 15) & ~(size_t)15;
    if (scratch_reserve((size_t)(n > 0 ? n : 1), slot) < 0) {
        for (Py_ssize_t k = 0; k < n + v; k++) Py_DECREF(items[k]);
        PyErr_NoMemory();
        goto fail;
    }

    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t j = 0; j < v; j++) {
        SendState *st = (SendState *)items[n + j];
        uint32_t ts = st->ts_origin + (uint32_t)timestamp;
        status[j] = (uint8_t)send_one(st, data, sizes, (int)n, ts, ntp, slot, &wire[j]);
    }
    Py_END_ALLOW_THREADS

    int failed = 0;
    for (Py_ssize_t j = 0; j < v; j++) {
        SendState *st = (SendState *)items[n + j];
        if (status[j] == ST_NOT_CONNECTED || status[j] == ST_PROTECT_FAILED || failed) {
            continue;
        }
        uint32_t ts = st->ts_origin + (uint32_t)timestamp;
        for (Py_ssize_t i = 0; i < n; i++) {
            Entry *e = &st->history[st->seq & (HISTORY_SIZE - 1)];
            e->seq = st->seq;
            e->ts = ts;
            e->marker = i == n - 1 ? 0x80 : 0;
            e->pid_shift = st->pid_shift;
            Py_INCREF(items[i]);
            Py_XSETREF(e->payload, items[i]);
            st->seq++;
        }
        st->packets_sent += (unsigned long long)n;
        if (set_attr_u64(st->sender, name_ntp, ntp) < 0 ||
            set_attr_u64(st->sender, name_rtp_ts, ts) < 0 ||
            add_attr(st->sender, name_octets, octets) < 0 ||
            add_attr(st->sender, name_packets, n) < 0 ||
            add_attr(st->dtls, name_tx_bytes, wire[j]) < 0 ||
            add_attr(st->dtls, name_tx_packets, n) < 0) {
            failed = 1;
        }
    }
    for (Py_ssize_t k = 0; k < n + v; k++) Py_DECREF(items[k]);
    PyMem_Free(items);
    PyMem_Free(data);
    PyMem_Free(sizes);
    PyMem_Free(wire);
    if (failed) {
        Py_DECREF(result);
        return NULL;
    }
    return result;

fail:
    PyMem_Free(items);
    PyMem_Free(data);
    PyMem_Free(sizes);
    PyMem_Free(wire);
    Py_DECREF(result);
    return NULL;
}

static PyObject *fanout_configure(PyObject *module, PyObject *arg) {
    unsigned long long addr = PyLong_AsUnsignedLongLong(arg);
    if (PyErr_Occurred()) return NULL;
    if (addr == 0) {
        PyErr_SetString(PyExc_ValueError, "null srtp_protect");
        return NULL;
    }
    srtp_protect_ptr = (protect_fn)(uintptr_t)addr;
    Py_RETURN_NONE;
}

static PyMethodDef fanout_methods[] = {
    {"send_frame", (PyCFunction)(void (*)(void))fanout_send_frame, METH_FASTCALL,
     "send_frame(payloads, timestamp, ntp, states) -> bytes: one status per state"},
    {"configure", (PyCFunction)fanout_configure, METH_O,
     "configure(address of srtp_protect in pylibsrtp's libsrtp)"},
    {NULL},
};

static struct PyModuleDef fanout_module = {
    PyModuleDef_HEAD_INIT, "_fanout", "The native per-frame fan-out send loop.", -1,
    fanout_methods,
};

PyMODINIT_FUNC PyInit__fanout(void) {
    if (PyType_Ready(&SendStateType) < 0) return NULL;
    name_ntp = PyUnicode_InternFromString("_RTCRtpSender__ntp_timestamp");
    name_rtp_ts = PyUnicode_InternFromString("_RTCRtpSender__rtp_timestamp");
    name_octets = PyUnicode_InternFromString("_RTCRtpSender__octet_count");
    name_packets = PyUnicode_InternFromString("_RTCRtpSender__packet_count");
    name_tx_bytes = PyUnicode_InternFromString("_RTCDtlsTransport__tx_bytes");
    name_tx_packets = PyUnicode_InternFromString("_RTCDtlsTransport__tx_packets");
    if (!name_ntp || !name_rtp_ts || !name_octets || !name_packets || !name_tx_bytes ||
        !name_tx_packets) {
        return NULL;
    }
    PyObject *m = PyModule_Create(&fanout_module);
    if (m == NULL) return NULL;
    Py_INCREF(&SendStateType);
    if (PyModule_AddObject(m, "SendState", (PyObject *)&SendStateType) < 0 ||
        PyModule_AddIntConstant(m, "SENT", ST_SENT) < 0 ||
        PyModule_AddIntConstant(m, "NOT_CONNECTED", ST_NOT_CONNECTED) < 0 ||
        PyModule_AddIntConstant(m, "WOULD_BLOCK", ST_WOULD_BLOCK) < 0 ||
        PyModule_AddIntConstant(m, "PROTECT_FAILED", ST_PROTECT_FAILED) < 0 ||
        PyModule_AddIntConstant(m, "HISTORY_SIZE", HISTORY_SIZE) < 0) {
        Py_DECREF(&SendStateType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
