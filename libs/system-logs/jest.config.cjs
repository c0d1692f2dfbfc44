module.exports = { displayName: 'system-logs', preset: '../../jest.preset.js', rootDir: __dirname };
