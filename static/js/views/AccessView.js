// Access control for administrators: API and Worker enrolment tokens, web interface users.
import { onMounted, reactive, ref } from 'vue';
import * as api from '../lib/api.js';

const ROLES = ['viewer', 'artist', 'wrangler', 'admin'];

export default {
  name: 'AccessView',
  setup() {
    const tokens = ref([]);
    const users = ref([]);
    const problem = ref('');
    const created = ref('');
    const newToken = reactive({ kind: 'api', name: '', role: 'artist', hours: '', single_use: false });
    const newUser = reactive({ name: '', role: 'artist', password: '' });

    async function attempt(action) {
      problem.value = '';
      try {
        await action();
      } catch (error) {
        problem.value = error.message;
      }
    }
    const load = () => attempt(async () => {
      tokens.value = (await api.fetchAccessTokens()).tokens;
      users.value = (await api.fetchUsers()).users;
    });
    const createToken = () => attempt(async () => {
      const body = { kind: newToken.kind, name: newToken.name };
      if (newToken.kind === 'api') body.role = newToken.role;
      else body.single_use = newToken.single_use;
      if (newToken.hours) body.valid_for_seconds = Math.round(Number(newToken.hours) * 3600);
      created.value = (await api.createAccessToken(body)).token;
      newToken.name = '';
      await load();
    });
    const revoke = (token) => attempt(async () => {
      await api.revokeAccessToken(token.id);
      await load();
    });
    const addUser = () => attempt(async () => {
      await api.saveUser(newUser.name, newUser.role, newUser.password);
      newUser.name = '';
      newUser.password = '';
      await load();
    });
    const removeUser = (user) => attempt(async () => {
      await api.deleteUser(user.name);
      await load();
    });
    onMounted(load);
    return { ROLES, tokens, users, problem, created, newToken, newUser, createToken, revoke, addUser, removeUser };
  },
  template: `<section class="access-view" data-testid="access-view">
    <h1>Access</h1>
    <p v-if="problem" class="banner error" role="alert">{{ problem }}</p>
    <h2>Tokens</h2>
    <p v-if="created" class="banner" role="status" data-testid="created-token">
      New token, shown only now: <code>{{ created }}</code>
    </p>
    <table class="audit-table">
      <thead><tr><th>ID</th><th>Kind</th><th>For</th><th>Role</th><th>Expires</th><th>Single use</th><th></th></tr></thead>
      <tbody>
        <tr v-for="token in tokens" :key="token.id">
          <td>{{ token.id }}</td><td>{{ token.kind }}</td><td>{{ token.name }}</td><td>{{ token.role || '' }}</td>
          <td>{{ token.expires || 'never' }}</td><td>{{ token.single_use ? (token.used ? 'used' : 'yes') : '' }}</td>
          <td><button type="button" @click="revoke(token)">Revoke</button></td>
        </tr>
      </tbody>
    </table>
    <form class="access-form" @submit.prevent="createToken">
      <label>Kind <select v-model="newToken.kind"><option value="api">API token</option><option value="enrolment">Worker enrolment</option></select></label>
      <label>For <input v-model.trim="newToken.name" required placeholder="user or script name"></label>
      <label v-if="newToken.kind === 'api'">Role <select v-model="newToken.role"><option v-for="role in ROLES" :key="role">{{ role }}</option></select></label>
      <label v-else><input type="checkbox" v-model="newToken.single_use"> Single use</label>
      <label>Valid for hours <input v-model="newToken.hours" type="number" min="1" placeholder="until revoked"></label>
      <button type="submit" class="primary">Create token</button>
    </form>
    <h2>Users</h2>
    <table class="audit-table">
      <thead><tr><th>Name</th><th>Role</th><th></th></tr></thead>
      <tbody>
        <tr v-for="user in users" :key="user.name">
          <td>{{ user.name }}</td><td>{{ user.role }}</td>
          <td><button type="button" @click="removeUser(user)">Delete</button></td>
        </tr>
      </tbody>
    </table>
    <form class="access-form" @submit.prevent="addUser">
      <label>Name <input v-model.trim="newUser.name" required></label>
      <label>Role <select v-model="newUser.role"><option v-for="role in ROLES" :key="role">{{ role }}</option></select></label>
      <label>Password <input v-model="newUser.password" type="password" minlength="8" required autocomplete="new-password"></label>
      <button type="submit" class="primary">Add or change user</button>
    </form>
  </section>`,
};
