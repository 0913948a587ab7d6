// Tests for the PEP nodes and publish options of both backends (src/omemo/versions/) and
// src/omemo/stanzas/publish-options.ts (XEP-0060 publish options).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ITEM_ID_CURRENT } from '../../src/omemo/stanzas/namespaces';
import { NODE_LEGACY_DEVICELIST, NS_LEGACY, legacyBundleNode } from '../../src/omemo/versions/oldmemo';
import { NODE_OMEMO2_BUNDLES, NODE_OMEMO2_DEVICES, NS_OMEMO2 } from '../../src/omemo/versions/twomemo';
import { namespaceOf, pepLocations, publishOptionsFor } from '../../src/omemo/versions/by-version';
import { versionOfNamespace } from '../../src/omemo/versions/backend';
import { MAX_ITEMS_NUMERIC_FALLBACK, serializePublishOptions } from '../../src/omemo/stanzas/publish-options';
import { attr, parseXml } from '../../src/omemo/stanzas/xml';
import { throwsProgrammer } from './helpers';

test('namespaces and PEP locations match the python peer (README "init" answer)', () => {
  assert.is(NS_LEGACY, 'eu.siacs.conversations.axolotl');
  assert.is(NS_OMEMO2, 'urn:xmpp:omemo:2');
  assert.equal(pepLocations('oldmemo', 1001), {
    deviceListNode: 'eu.siacs.conversations.axolotl.devicelist',
    deviceListItemId: 'current',
    bundleNode: 'eu.siacs.conversations.axolotl.bundles:1001',
    bundleItemId: 'current',
  });
  assert.equal(pepLocations('twomemo', 1001), {
    deviceListNode: 'urn:xmpp:omemo:2:devices',
    deviceListItemId: 'current',
    bundleNode: 'urn:xmpp:omemo:2:bundles',
    bundleItemId: '1001',
  });
  assert.is(NODE_LEGACY_DEVICELIST, pepLocations('oldmemo', 1).deviceListNode);
  assert.is(NODE_OMEMO2_DEVICES, 'urn:xmpp:omemo:2:devices');
  assert.is(NODE_OMEMO2_BUNDLES, 'urn:xmpp:omemo:2:bundles');
  assert.is(ITEM_ID_CURRENT, 'current');
  assert.is(legacyBundleNode(2147483647), 'eu.siacs.conversations.axolotl.bundles:2147483647');
  assert.is(namespaceOf('oldmemo'), NS_LEGACY);
  assert.is(versionOfNamespace(NS_OMEMO2), 'twomemo');
  assert.is(versionOfNamespace('urn:xmpp:omemo:1'), undefined);
  throwsProgrammer(() => legacyBundleNode(0), RangeError, /1\.\.2147483647, got 0/);
  throwsProgrammer(() => pepLocations('twomemo', 1.5), TypeError, /integer/);
  throwsProgrammer(() => namespaceOf('omemo2' as 'twomemo'), TypeError, /version must be/);
});

test('publish options per version and node', () => {
  const open = { 'pubsub#access_model': 'open' };
  assert.equal(publishOptionsFor('oldmemo', 'devicelist'), open);
  assert.equal(publishOptionsFor('oldmemo', 'bundle'), open);
  assert.equal(publishOptionsFor('twomemo', 'devicelist'), open);
  assert.equal(publishOptionsFor('twomemo', 'bundle'), { 'pubsub#access_model': 'open', 'pubsub#max_items': 'max' });
  assert.equal(publishOptionsFor('twomemo', 'bundle', { numericMaxItems: true }), {
    'pubsub#access_model': 'open',
    'pubsub#max_items': MAX_ITEMS_NUMERIC_FALLBACK,
  });
  assert.ok(/^[1-9][0-9]*$/.test(MAX_ITEMS_NUMERIC_FALLBACK));
  assert.ok(Number(MAX_ITEMS_NUMERIC_FALLBACK) >= 200, 'fallback holds a full device list of bundles');
  assert.ok(Object.isFrozen(publishOptionsFor('twomemo', 'bundle')), 'shared constants cannot be mutated');
  throwsProgrammer(() => publishOptionsFor('twomemo', 'bundles' as 'bundle'), TypeError, /node must be/);
});

test('serialises a XEP-0004 submit form with FORM_TYPE first', () => {
  const xml = serializePublishOptions(publishOptionsFor('twomemo', 'bundle'));
  assert.is(
    xml,
    '<publish-options><x xmlns="jabber:x:data" type="submit">' +
      '<field var="FORM_TYPE" type="hidden"><value>http://jabber.org/protocol/pubsub#publish-options</value></field>' +
      '<field var="pubsub#access_model"><value>open</value></field>' +
      '<field var="pubsub#max_items"><value>max</value></field>' +
      '</x></publish-options>',
  );
  const x = parseXml(xml).children[0]!;
  assert.is(x.ns, 'jabber:x:data');
  assert.equal(
    x.children.map((f) => [attr(f, 'var'), f.children[0]!.text]),
    [
      ['FORM_TYPE', 'http://jabber.org/protocol/pubsub#publish-options'],
      ['pubsub#access_model', 'open'],
      ['pubsub#max_items', 'max'],
    ],
  );
});

test('serialisation escapes and validates', () => {
  const x = parseXml(serializePublishOptions({ 'a"b': '<&>' })).children[0]!;
  assert.is(attr(x.children[1]!, 'var'), 'a"b');
  assert.is(x.children[1]!.children[0]!.text, '<&>');
  throwsProgrammer(() => serializePublishOptions({ FORM_TYPE: 'x' }), RangeError, /FORM_TYPE/);
  throwsProgrammer(
    () => serializePublishOptions({ a: 1 as unknown as string }),
    TypeError,
    /options\["a"\] must be a string/,
  );
});

test.run();
