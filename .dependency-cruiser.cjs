/**
 * Quarry's layers, checked by tests/architecture.test.ts:
 *   routes/ → services/ → db/ (and src/ helpers); services/ never imports Fastify or routes/;
 *   src/llm/ (the teacher layer) knows nothing of db/ or services/; nothing product imports tests/;
 *   no import cycles among product files.
 */
const product = '^(src|services|db|routes)/';
module.exports = {
  forbidden: [
    { name: 'no-cycles', severity: 'error', comment: 'Product files form no import cycle.', from: { path: product }, to: { circular: true } },
    { name: 'no-tests-in-product', severity: 'error', comment: 'Product code may not import tests/.', from: { path: product }, to: { path: '^tests/' } },
    { name: 'llm-without-db', severity: 'error', comment: 'The teacher layer (src/llm/) does not touch the database or the domain.', from: { path: '^src/llm/' }, to: { path: '^(db|services|routes)/' } },
    { name: 'db-below-services', severity: 'error', comment: 'Repositories do not call the domain or the HTTP layer.', from: { path: '^db/' }, to: { path: '^(services|routes)/' } },
    { name: 'services-without-http', severity: 'error', comment: 'The domain never imports Fastify or routes.', from: { path: '^services/' }, to: { path: ['^routes/', '^src/http/', 'node_modules/(fastify|@fastify)/'] } },
    { name: 'no-sql-in-routes', severity: 'error', comment: 'Routes call services, never repositories or drizzle.', from: { path: '^routes/' }, to: { path: ['^db/.*repository', 'node_modules/drizzle-orm/'] } },
    { name: 'not-to-unresolvable', severity: 'error', from: { path: product }, to: { couldNotResolve: true } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'], extensions: ['.ts', '.js', '.json'] },
  },
};
