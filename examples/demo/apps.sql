-- The three demo applications, each its own SQLite file, each with its own idea of a user table.
-- wiki
create table users (id integer primary key autoincrement, login text not null unique, email text, name text, active integer not null default 1);
create table user_groups (user_id integer not null references users (id), group_name text not null, primary key (user_id, group_name));
-- payroll
create table employees (id integer primary key autoincrement, username text not null unique, mail text, full_name text, enabled integer not null default 1);
create table employee_roles (employee_id integer not null references employees (id), role text not null, primary key (employee_id, role));
-- deploy
create table accounts (id integer primary key autoincrement, name text not null unique, email text, active integer not null default 1);
create table account_groups (account_id integer not null references accounts (id), grp text not null, primary key (account_id, grp));
