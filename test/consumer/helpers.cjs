// A CommonJS module of workflows in the same folder: loaded too (no duplicate names).
const { defineWorkflow } = require('leaseflow');

exports.shout = defineWorkflow({ name: 'shout' }, async (ctx, input) => ctx.step('up', async () => String(input.text).toUpperCase()));
