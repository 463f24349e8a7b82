import type { Knex } from "knex";

/**
 * The demo marketplace: its own products table, plus what any marketplace provides to
 * plug Facet in (see README, "Catalogue adapter"):
 *
 * - a view with the columns Facet reads: product_id, category, updated_at, photo_keys,
 *   description, locked, description_edited_at (when a person last edited the text);
 * - a function Facet calls to set a product's description (apply and rollback), which
 *   returns false when the product no longer exists;
 * - a labels view for training (`facet dataset export --catalogue`, LABELS_RELATION): product_id
 *   and one text column per attribute, from the structured fields its sellers fill in.
 *
 * Facet never reads or writes the marketplace's tables directly.
 */
export async function createDemoCatalogue(db: Knex, schema: string): Promise<void> {
  await db.raw("create schema if not exists ??", [schema]);
  await db.raw(
    `create table if not exists ??.products (
       id text primary key,
       title text not null,
       category text,
       photo_keys text[] not null default '{}',
       description text,
       description_edited_at timestamptz,
       description_generated_at timestamptz,
       locked boolean not null default false,
       updated_at timestamptz not null default now(),
       deleted_at timestamptz
     )`,
    [schema],
  );
  await db.raw(`create index if not exists products_updated_at_idx on ??.products (updated_at)`, [schema]);
  // The structured attribute fields a listing form asks sellers for (null: left blank).
  for (const column of ["metal", "gemstone", "finish", "setting", "style"]) {
    await db.raw(`alter table ??.products add column if not exists ?? text`, [schema, column]);
  }
  await db.raw(
    `create or replace view ??.product_labels as
       select id as product_id, category, metal, gemstone, finish, setting, style
       from ??.products where deleted_at is null`,
    [schema, schema],
  );
  await db.raw(
    `create or replace view ??.catalogue as
       select id as product_id, category, updated_at, photo_keys, description, locked, description_edited_at
       from ??.products where deleted_at is null`,
    [schema, schema],
  );
  await db.raw(
    `create or replace function ??.apply_description(p_product_id text, p_description text) returns boolean
     language sql as $$
       update ${quoteIdent(schema)}.products
          set description = p_description, description_generated_at = now()
        where id = p_product_id and deleted_at is null
       returning true
     $$`,
    [schema],
  );
}

function quoteIdent(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain SQL identifier: ${name}`);
  return `"${name}"`;
}
