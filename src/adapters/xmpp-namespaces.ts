// XMPP namespaces the @xmpp/client adapter speaks: XEP-0030/0045/0060/0115/0249/0280/0297/0313/0334/0359/0380,
// RFC 6120/6121.

/** XEP-0060 PubSub. */
export const NS_PUBSUB = 'http://jabber.org/protocol/pubsub';
/** XEP-0060 §8 owner use cases (node configuration). */
export const NS_PUBSUB_OWNER = 'http://jabber.org/protocol/pubsub#owner';
/** XEP-0060 §7.1.5 error conditions (precondition-not-met). */
export const NS_PUBSUB_ERRORS = 'http://jabber.org/protocol/pubsub#errors';
/** XEP-0060 notifications. */
export const NS_PUBSUB_EVENT = 'http://jabber.org/protocol/pubsub#event';
/** FORM_TYPE of a node configuration form. */
export const FORM_TYPE_NODE_CONFIG = 'http://jabber.org/protocol/pubsub#node_config';
/** XEP-0030 service discovery. */
export const NS_DISCO_INFO = 'http://jabber.org/protocol/disco#info';
/** XEP-0115 entity capabilities. */
export const NS_CAPS = 'http://jabber.org/protocol/caps';
/** XEP-0280 message carbons. */
export const NS_CARBONS = 'urn:xmpp:carbons:2';
/** XEP-0297 stanza forwarding. */
export const NS_FORWARD = 'urn:xmpp:forward:0';
/** XEP-0203 delayed delivery. */
export const NS_DELAY = 'urn:xmpp:delay';
/** XEP-0313 message archive management. */
export const NS_MAM = 'urn:xmpp:mam:2';
/** XEP-0059 result set management. */
export const NS_RSM = 'http://jabber.org/protocol/rsm';
/** XEP-0334 message processing hints. */
export const NS_HINTS = 'urn:xmpp:hints';
/** XEP-0380 explicit message encryption. */
export const NS_EME = 'urn:xmpp:eme:0';
/** RFC 6120 stanza error conditions. */
export const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';
/** Data forms (XEP-0004). */
export const NS_X_DATA = 'jabber:x:data';
/** XEP-0045 multi-user chat: the join `<x/>`. */
export const NS_MUC = 'http://jabber.org/protocol/muc';
/** XEP-0045 occupant and affiliation items, status codes, mediated invitations. */
export const NS_MUC_USER = 'http://jabber.org/protocol/muc#user';
/** XEP-0045 §9 affiliation lists (admin use cases). */
export const NS_MUC_ADMIN = 'http://jabber.org/protocol/muc#admin';
/** XEP-0045 §10 room configuration (owner use cases). */
export const NS_MUC_OWNER = 'http://jabber.org/protocol/muc#owner';
/** XEP-0249 direct MUC invitations. */
export const NS_CONFERENCE = 'jabber:x:conference';
/** XEP-0359 unique and stable stanza ids (origin-id, stanza-id). */
export const NS_SID = 'urn:xmpp:sid:0';
/** XEP-0030 item discovery. */
export const NS_DISCO_ITEMS = 'http://jabber.org/protocol/disco#items';
/** XEP-0363 HTTP file upload. */
export const NS_HTTP_UPLOAD = 'urn:xmpp:http:upload:0';
