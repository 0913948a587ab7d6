// Tests for src/omemo/stanzas/device-list.ts (XEP-0384 0.3.0 §4.2 / 0.9 §5.3.1 device lists).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MAX_DEVICES_PER_LIST, type DeviceListEntry } from '../../src/omemo/stanzas/device-list';
import { parseDeviceList, serializeDeviceList } from '../../src/omemo/versions/by-version';
import { NS_LEGACY } from '../../src/omemo/versions/oldmemo';
import { NS_OMEMO2 } from '../../src/omemo/versions/twomemo';
import { fixture, seq, throwsMalformed, throwsProgrammer } from './helpers';

const L = NS_LEGACY;
const O = NS_OMEMO2;

test('parses python-omemo device lists (both versions, README and selftest dumps)', () => {
  assert.equal(parseDeviceList(fixture('oldmemo-devicelist.xml'), 'oldmemo'), [{ id: 1489678178 }]);
  assert.equal(parseDeviceList(fixture('twomemo-devicelist.xml'), 'twomemo'), [{ id: 1489678178 }]);
  assert.equal(parseDeviceList(fixture('readme-oldmemo-devicelist.xml'), 'oldmemo'), [{ id: 1489678178 }]);
  assert.equal(parseDeviceList(fixture('readme-twomemo-devicelist.xml'), 'twomemo'), [{ id: 1489678178 }]);
  const three = [{ id: 1001 }, { id: 2147483647 }, { id: 1 }];
  assert.equal(parseDeviceList(fixture('oldmemo-devicelist-three.xml'), 'oldmemo'), three);
  assert.equal(parseDeviceList(fixture('twomemo-devicelist-three.xml'), 'twomemo'), three);
  assert.equal(parseDeviceList(fixture('twomemo-devicelist-label.xml'), 'twomemo'), [
    { id: 1001, label: `Phone <&> "Grüße" 'x'` },
  ]);
});

test('serialises byte-identically to python-omemo', () => {
  for (const [file, version] of [
    ['oldmemo-devicelist-three.xml', 'oldmemo'],
    ['twomemo-devicelist-three.xml', 'twomemo'],
    ['twomemo-devicelist.xml', 'twomemo'],
  ] as const) {
    const xml = fixture(file).trim();
    assert.is(serializeDeviceList(parseDeviceList(xml, version), version), xml, file);
  }
  // python escapes quotes in attributes the same way; it leaves ' alone, as we do.
  const labelled = fixture('twomemo-devicelist-label.xml').trim();
  assert.is(serializeDeviceList(parseDeviceList(labelled, 'twomemo'), 'twomemo'), labelled);
});

test('round trips: serialize → parse and parse → serialize → parse', () => {
  const entries: DeviceListEntry[] = [
    { id: 1, label: 'Gajim on Linux', labelSignature: seq(64) },
    { id: 2147483647 },
    { id: 42, label: 'tab\tnew\nline & <x>' },
  ];
  const xml = serializeDeviceList(entries, 'twomemo');
  assert.equal(parseDeviceList(xml, 'twomemo'), entries);
  const again = parseDeviceList(serializeDeviceList(parseDeviceList(xml, 'twomemo'), 'twomemo'), 'twomemo');
  assert.equal(again, entries);
  const legacy = serializeDeviceList([{ id: 7 }, { id: 8 }], 'oldmemo');
  assert.equal(parseDeviceList(legacy, 'oldmemo'), [{ id: 7 }, { id: 8 }]);
});

test('legacy lists are written with id only (python-omemo rejects a list with label)', () => {
  const xml = serializeDeviceList([{ id: 5, label: 'phone', labelSignature: seq(64) }], 'oldmemo');
  assert.is(xml, `<list xmlns="${L}"><device id="5"/></list>`);
});

test('legacy parse ignores unknown attributes and non-device children', () => {
  const xml = `<list xmlns='${L}'><device id='5' label='x' foo='bar'/><other/><device id='6'/></list>`;
  assert.equal(parseDeviceList(xml, 'oldmemo'), [{ id: 5 }, { id: 6 }]);
});

test('empty lists parse to [] and serialise', () => {
  assert.equal(parseDeviceList(`<list xmlns="${L}"/>`, 'oldmemo'), []);
  assert.equal(parseDeviceList(`<devices xmlns="${O}"></devices>`, 'twomemo'), []);
  assert.is(serializeDeviceList([], 'twomemo'), `<devices xmlns="${O}"/>`);
  assert.equal(parseDeviceList(serializeDeviceList([], 'oldmemo'), 'oldmemo'), []);
});

test('accepts prefixes, either quote style, white space and wrapping in a PEP <item>/<message>', () => {
  const prefixed = `<p:devices xmlns:p='${O}'>\n  <p:device id="3"   label='a'/>\n  <p:device id='4'></p:device>\n</p:devices>`;
  assert.equal(parseDeviceList(prefixed, 'twomemo'), [{ id: 3, label: 'a' }, { id: 4 }]);
  const event = `<message xmlns='jabber:client' from='bob@x'><event xmlns='http://jabber.org/protocol/pubsub#event'><items node='eu.siacs.conversations.axolotl.devicelist'><item id='current'><list xmlns='${L}'><device id='77'/></list></item></items></event></message>`;
  assert.equal(parseDeviceList(event, 'oldmemo'), [{ id: 77 }]);
});

test('wrong namespace or version is not a device list', () => {
  throwsMalformed(() => parseDeviceList(fixture('twomemo-devicelist.xml'), 'oldmemo'), /no <list xmlns='eu.siacs/);
  throwsMalformed(
    () => parseDeviceList(fixture('oldmemo-devicelist.xml'), 'twomemo'),
    /no <devices xmlns='urn:xmpp:omemo:2'>/,
  );
  throwsMalformed(() => parseDeviceList(`<list xmlns='urn:other'><device id='1'/></list>`, 'oldmemo'), /no <list/);
  throwsMalformed(() => parseDeviceList(`<list><device id='1'/></list>`, 'oldmemo'), /no <list/);
});

test('bad device ids are rejected', () => {
  const cases: [string, RegExp][] = [
    ['0', /1\.\.2147483647, got 0/],
    ['-1', /decimal integer/],
    ['2147483648', /1\.\.2147483647, got 2147483648/],
    ['4294967297', /1\.\.2147483647/],
    ['99999999999', /decimal integer/],
    ['12a', /decimal integer/],
    ['0x10', /decimal integer/],
    ['1e3', /decimal integer/],
    [' 12', /decimal integer/],
    ['+12', /decimal integer/],
    ['', /decimal integer/],
  ];
  for (const [id, re] of cases) {
    throwsMalformed(() => parseDeviceList(`<list xmlns='${L}'><device id='${id}'/></list>`, 'oldmemo'), re);
    throwsMalformed(() => parseDeviceList(`<devices xmlns='${O}'><device id='${id}'/></devices>`, 'twomemo'), re);
  }
  throwsMalformed(() => parseDeviceList(`<list xmlns='${L}'><device/></list>`, 'oldmemo'), /device id is missing/);
});

test('duplicate device ids are rejected', () => {
  throwsMalformed(
    () => parseDeviceList(`<list xmlns='${L}'><device id='9'/><device id='09'/></list>`, 'oldmemo'),
    /device id 9 appears twice/,
  );
  throwsProgrammer(() => serializeDeviceList([{ id: 9 }, { id: 9 }], 'twomemo'), RangeError, /duplicate/);
});

test('a labelsig without a label is ignored (serializeDeviceList cannot write one)', () => {
  // Found by test/fuzz (device-list.hostile): the parser returned a labelSignature without a label.
  const entries = parseDeviceList(
    `<devices xmlns='${O}'><device id='1' labelsig=''/><device id='2' labelsig='AQ=='/></devices>`,
    'twomemo',
  );
  assert.equal(entries, [{ id: 1 }, { id: 2 }]);
  assert.equal(parseDeviceList(serializeDeviceList(entries, 'twomemo'), 'twomemo'), entries);
});

test('bad labelsig is rejected', () => {
  throwsMalformed(
    () => parseDeviceList(`<devices xmlns='${O}'><device id='1' label='x' labelsig='!!'/></devices>`, 'twomemo'),
    /labelsig of device 1 is not valid base64/,
  );
});

test('MAX_DEVICES_PER_LIST bounds parse and serialise', () => {
  const ids = (n: number) => Array.from({ length: n }, (_, i) => ({ id: i + 1 }));
  const atMax = serializeDeviceList(ids(MAX_DEVICES_PER_LIST), 'twomemo');
  assert.is(parseDeviceList(atMax, 'twomemo').length, MAX_DEVICES_PER_LIST);
  const over = `<devices xmlns='${O}'>${ids(MAX_DEVICES_PER_LIST + 1)
    .map((d) => `<device id='${d.id}'/>`)
    .join('')}</devices>`;
  throwsMalformed(() => parseDeviceList(over, 'twomemo'), /MAX_DEVICES_PER_LIST/);
  throwsProgrammer(
    () => serializeDeviceList(ids(MAX_DEVICES_PER_LIST + 1), 'oldmemo'),
    RangeError,
    /MAX_DEVICES_PER_LIST/,
  );
});

test('serialise validates its input precisely', () => {
  throwsProgrammer(
    () => serializeDeviceList([{ id: 0 }], 'oldmemo'),
    RangeError,
    /entries\[0\]\.id must be in 1\.\.2147483647, got 0/,
  );
  throwsProgrammer(() => serializeDeviceList([{ id: 2 ** 31 }], 'oldmemo'), RangeError, /got 2147483648/);
  throwsProgrammer(() => serializeDeviceList([{ id: 1.5 }], 'oldmemo'), TypeError, /must be an integer/);
  throwsProgrammer(() => serializeDeviceList([{ id: '1' as unknown as number }], 'oldmemo'), TypeError, /integer/);
  throwsProgrammer(
    () => serializeDeviceList([{ id: 1, labelSignature: seq(64) }], 'twomemo'),
    RangeError,
    /without a label/,
  );
  throwsProgrammer(() => serializeDeviceList([{ id: 1, label: 'a\u0001' }], 'twomemo'), RangeError, /U\+0001/);
  throwsProgrammer(() => serializeDeviceList({} as unknown as DeviceListEntry[], 'twomemo'), TypeError, /array/);
  throwsProgrammer(() => serializeDeviceList([], 'omemo3' as 'twomemo'), TypeError, /version/);
  throwsProgrammer(() => parseDeviceList('<x/>', 'legacy' as 'oldmemo'), TypeError, /version/);
});

test('malformed XML and DOCTYPE are malformed-stanza', () => {
  throwsMalformed(() => parseDeviceList(`<list xmlns='${L}'><device id='1'></list>`, 'oldmemo'), /not well-formed/);
  throwsMalformed(
    () => parseDeviceList(`<!DOCTYPE l [<!ENTITY i '1'>]><list xmlns='${L}'><device id='&i;'/></list>`, 'oldmemo'),
    /DOCTYPE/,
  );
});

test.run();
