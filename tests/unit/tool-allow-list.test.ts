import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { AppError } from '../../src/errors.js';
import { addressError, allowEntryError, assertExecutionAllowed, assertUrlAllowed, listedAddresses, matchAllowList, parseAllowList, ToolUrlRefused } from '../../services/tools/execute/allow-list.js';
import { isPrivateAddress } from '../../services/tools/execute/private-address.js';

const allow = parseAllowList(['https://api.example.com/v1', 'http://127.0.0.1:8080', 'http://[::1]:9000/mcp/']);
const admitted = (url: string) => !(matchAllowList(url, allow) instanceof ToolUrlRefused);

describe('TOOLS_HTTP_ALLOW matching', () => {
  it('admits URLs under a listed base: same scheme, host and port, path on a segment boundary', () => {
    for (const url of [
      'https://api.example.com/v1',
      'https://api.example.com/v1/',
      'https://api.example.com/v1/pets/1?x=1',
      'HTTPS://API.Example.COM:443/v1/pets',
      'https://api.example.com/v1/a/../b',
      'http://127.0.0.1:8080/',
      'http://127.0.0.1:8080/anything/at/all',
      'http://[::1]:9000/mcp',
      'http://[0:0:0:0:0:0:0:1]:9000/mcp/x',
      'http://2130706433:8080/',
      'http://0x7f.0.0.1:8080/x',
      'http://127.1:8080/',
    ]) expect(admitted(url), url).toBe(true);
  });

  it('refuses look-alikes: userinfo, other hosts, ports and schemes, sibling paths, climbing out of the prefix', () => {
    for (const url of [
      'https://api.example.com@evil.com/v1',
      'https://evil.com@api.example.com/v1',
      'https://user:pw@api.example.com/v1',
      'https://api.example.com.evil.com/v1',
      'https://api.example.com./v1',
      'https://evil-api.example.com/v1',
      'https://api.example.com:8443/v1',
      'http://api.example.com/v1',
      'https://api.example.com/v10',
      'https://api.example.com/v1x/pets',
      'https://api.example.com/',
      'https://api.example.com/v1/../admin',
      'https://api.example.com/v1/%2e%2e/admin',
      'https://api.example.com/v1/..%2Fadmin',
      'https://api.example.com/v1/..%5cadmin',
      'https://api.example.com/v1\\..\\admin',
      'http://127.0.0.1:8081/',
      'http://127.0.0.2:8080/',
      'http://localhost:8080/',
      'http://[::ffff:127.0.0.1]:8080/',
      'http://[::1]:9000/mcpx',
      'ftp://api.example.com/v1',
      'file:///etc/passwd',
      '/v1/pets',
      'not a url',
    ]) expect(admitted(url), url).toBe(false);
  });

  it('says why, and that an empty list admits nothing', () => {
    expect(matchAllowList('https://user@api.example.com/v1', allow)).toMatchObject({ message: 'URLs with credentials (user@host) are not allowed' });
    expect(matchAllowList('https://api.example.com/v10', allow)).toMatchObject({ message: 'https://api.example.com/v10 is not under a base URL listed in TOOLS_HTTP_ALLOW' });
    expect(matchAllowList('http://127.0.0.1:8080/', [])).toMatchObject({ message: 'http://127.0.0.1:8080/ refused: TOOLS_HTTP_ALLOW is empty' });
  });

  it('refuses unusable entries at boot, naming them', () => {
    expect(allowEntryError('https://api.example.com/v1')).toBeUndefined();
    expect(allowEntryError('api.example.com')).toMatch(/not an absolute URL/);
    expect(allowEntryError('ftp://x.com')).toMatch(/http and https only/);
    expect(allowEntryError('https://u:p@x.com')).toMatch(/credentials/);
    expect(allowEntryError('https://x.com/v1?key=1')).toMatch(/no query or fragment/);
    expect(() => loadConfig({ TOOLS_HTTP_ALLOW: 'https://ok.example.com, api.example.com' })).toThrow(ConfigError);
    expect(() => loadConfig({ TOOLS_HTTP_ALLOW: 'https://ok.example.com, api.example.com' })).toThrow(/TOOLS_HTTP_ALLOW: "api.example.com"/);
    const config = loadConfig({ TOOLS_HTTP_ALLOW: ' https://a.example.com/v1 ,http://127.0.0.1:8080,', TOOLS_HTTP_TIMEOUT_MS: '2500' });
    expect(config).toMatchObject({ toolsHttpAllow: ['https://a.example.com/v1', 'http://127.0.0.1:8080'], toolsHttpTimeoutMs: 2500 });
    expect(loadConfig({})).toMatchObject({ toolsHttpAllow: [], toolsHttpTimeoutMs: 10_000 });
  });
});

describe('private addresses', () => {
  it('knows loopback, private, link-local, metadata, unique-local and the IPv6 forms that carry IPv4', () => {
    for (const ip of [
      '127.0.0.1', '127.255.255.254', '10.0.0.1', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '0.0.0.0', '100.64.0.1',
      '198.18.0.1', '224.0.0.1', '255.255.255.255', '::', '::1', 'fc00::1', 'fd12:3456::1', 'fe80::1', 'febf::1', 'fec0::1', 'ff02::1',
      '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:169.254.169.254', '::ffff:a9fe:a9fe', '::127.0.0.1', '64:ff9b::10.0.0.1', '2002:7f00:1::', '2001:db8::1', 'fe80::1%eth0', 'not-an-ip',
    ]) expect(isPrivateAddress(ip), ip).toBe(true);
    for (const ip of ['93.184.215.14', '8.8.8.8', '172.32.0.1', '172.15.255.255', '192.169.0.1', '11.0.0.1', '2606:4700::6810:85e5', '::ffff:8.8.8.8', '64:ff9b::8.8.8.8', '2002:808:808::']) {
      expect(isPrivateAddress(ip), ip).toBe(false);
    }
  });

  it('admits a private address only when that very address is listed', () => {
    const listed = listedAddresses(allow);
    expect([...listed].sort()).toEqual(['127.0.0.1', '::1']);
    expect(addressError('localhost', '127.0.0.1', listed)).toBeUndefined();
    expect(addressError('localhost', '::1', listed)).toBeUndefined();
    expect(addressError('api.example.com', '93.184.215.14', listed)).toBeUndefined();
    expect(addressError('api.example.com', '169.254.169.254', listed)?.message).toBe(
      'api.example.com resolves to 169.254.169.254, which is a private, loopback, link-local or metadata address not listed in TOOLS_HTTP_ALLOW (list the address itself to allow it)',
    );
    expect(addressError('api.example.com', '::ffff:127.0.0.1', listed)).toBeInstanceOf(ToolUrlRefused);
    expect(addressError('api.example.com', '10.0.0.1', listed)).toBeInstanceOf(ToolUrlRefused);
  });
});

describe('request-time refusals', () => {
  it('refuses http and mcp execution with a 400 naming execution.mode and TOOLS_HTTP_ALLOW when the list is empty', () => {
    expect(() => assertExecutionAllowed('simulated', [])).not.toThrow();
    expect(() => assertExecutionAllowed('http', ['https://api.example.com'])).not.toThrow();
    for (const mode of ['http', 'mcp'] as const) {
      let thrown: unknown;
      try {
        assertExecutionAllowed(mode, []);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(AppError);
      expect(thrown).toMatchObject({ status: 400, message: expect.stringMatching(/^execution\.mode: .*TOOLS_HTTP_ALLOW is empty/), details: [{ field: 'execution.mode' }] });
    }
  });

  it('refuses a base URL outside the list with a 400 naming the field', () => {
    expect(() => assertUrlAllowed('execution.base_url', 'https://api.example.com/v1/', ['https://api.example.com/v1'])).not.toThrow();
    expect(() => assertUrlAllowed('execution.base_url', 'https://api.example.com/v2', ['https://api.example.com/v1'])).toThrow(
      expect.objectContaining({ status: 400, details: [{ field: 'execution.base_url', message: 'https://api.example.com/v2 is not under a base URL listed in TOOLS_HTTP_ALLOW' }] }),
    );
  });
});
