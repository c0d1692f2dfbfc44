import { ConfigError, SettingsReader } from './settings';

describe(SettingsReader.name, () => {
  const read = (env: Record<string, string>) => new SettingsReader(env);

  it('treats blank as unset and trims values', () => {
    expect(read({ A: '  ' }).str('A')).toBeUndefined();
    expect(read({ A: ' x ' }).str('A')).toBe('x');
  });

  it('reads bounded integers and names the setting when out of range', () => {
    expect(read({}).int('N', 7, 0, 10)).toBe(7);
    expect(read({ N: '3' }).int('N', 7, 0, 10)).toBe(3);
    expect(() => read({ N: '3.5' }).int('N', 7, 0, 10)).toThrow(/N must be an integer from 0 to 10/);
    expect(() => read({ N: '11' }).int('N', 7, 0, 10)).toThrow(ConfigError);
  });

  it('checks URL protocols and never echoes a password', () => {
    expect(read({ U: 'redis://h:6379' }).url('U', ['redis:'])).toBe('redis://h:6379');
    expect(() => read({ U: 'http://h' }).url('U', ['redis:'])).toThrow(/U must use redis:/);
    expect(() => read({ U: 'x://u:secret@' }).url('U', ['redis:'])).not.toThrow(/secret/);
  });

  it('maps info and warning to Nest levels and refuses others', () => {
    expect(read({ LOG_LEVEL: 'INFO' }).logLevel()).toBe('log');
    expect(read({ LOG_LEVEL: 'warning' }).logLevel()).toBe('warn');
    expect(() => read({ LOG_LEVEL: 'loud' }).logLevel()).toThrow(/LOG_LEVEL/);
  });

  it('accepts only safe queue prefixes', () => {
    expect(read({}).queuePrefix()).toBe('aos');
    expect(() => read({ AOS_QUEUE_PREFIX: 'a:b' }).queuePrefix()).toThrow(/AOS_QUEUE_PREFIX/);
  });

  it('reads how far the search indexes may trail the writes, 60 s unless set, 0 allowed', () => {
    expect(read({}).searchIndexMaxLagSeconds()).toBe(60);
    expect(read({ AOS_SEARCH_INDEX_MAX_LAG_SECONDS: '0' }).searchIndexMaxLagSeconds()).toBe(0);
    expect(() => read({ AOS_SEARCH_INDEX_MAX_LAG_SECONDS: '-1' }).searchIndexMaxLagSeconds()).toThrow(/AOS_SEARCH_INDEX_MAX_LAG_SECONDS/);
    expect(() => read({ AOS_SEARCH_INDEX_MAX_LAG_SECONDS: '1.5' }).searchIndexMaxLagSeconds()).toThrow(/AOS_SEARCH_INDEX_MAX_LAG_SECONDS/);
  });
});
