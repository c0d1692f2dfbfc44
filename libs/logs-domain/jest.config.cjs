module.exports = { displayName: 'logs-domain', preset: '../../jest.preset.js', rootDir: __dirname };
